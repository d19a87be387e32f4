"""``aarshjul simulate``: a whole cycle year in virtual time, on a fresh state.

- :mod:`.scenario`: the scenario file (submissions, barometer, budget), checked;
- :mod:`.forms`: filled-in forms with illustrative content;
- :mod:`.timeline`: every instant of the year at which something happens;
- :mod:`.run`: the year, run through the same runner as live operation;
- :mod:`.summary`: ``summary.json``;
- :mod:`.cli`: the verb.
"""

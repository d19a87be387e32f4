"""What we write and send, and read back: letters, e-mails, reports, the journal, intake.

``TEMPLATES_DIR`` is where the bundled templates are; a deployment's own templates
(``AARSHJUL_TEMPLATES_DIR``, read into the settings) are passed to the functions that render.
"""

from pathlib import Path

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

import os

from django.core.wsgi import get_wsgi_application
from django.db import connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
application = get_wsgi_application()

# Refuse to serve with keys that cannot read the database (linli/core/key_check.py): raises
# KeysRefusedError, whose message says what to restore and where.
from linli.core.key_check import key_check_ensure  # noqa: E402 -- needs Django set up

key_check_ensure()
connections.close_all()

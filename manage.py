#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
    import django
    from django.core.management import execute_from_command_line

    django.setup()
    # Refuse to run with keys that cannot read the database (linli/core/key_check.py).
    from linli.core.key_check import keys_refused_at_start

    refused = keys_refused_at_start()
    if refused:
        sys.exit(refused)
    execute_from_command_line(sys.argv)

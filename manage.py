#!/usr/bin/env python
import gc
import os
import sys


def main():
    gc.disable()  # until the apps are loaded: amarise_ops/startup.py says why
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "amarise_ops.settings")
    from amarise_ops.startup import load_settings_or_exit, setup_django

    load_settings_or_exit()
    setup_django()
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Run one mlsd experiment, e.g. `python run.py case=ad_click model=dcn`. See `python run.py --help`."""

from framework.cli import main

if __name__ == "__main__":
    main()

import sys

from .runtime import set_up_process

set_up_process()  # before .cli imports pretty_midi (see musicrnn/runtime.py)

from .cli import main  # noqa: E402

sys.exit(main())

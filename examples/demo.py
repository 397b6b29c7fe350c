"""The main demo, as a script: the same as ``ember demo`` (see ``ember demo --help``).

python examples/demo.py            # LeNet-5 on Fashion-MNIST, 2 epochs
python examples/demo.py --quick    # a subset, 1 epoch
"""

import sys

from ember.cli import main

if __name__ == "__main__":
    sys.exit(main(["demo", *sys.argv[1:]]))

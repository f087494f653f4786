"""--help for the Python scripts of tools/, answered before they import
PyTorch (which --help must not need): the script's docstring, which says
what it does and how to run it, on stdout, and exit status 0."""
import sys


def answer_help(doc):
    """Prints doc and exits 0 when an argument is --help or -h."""
    if {"-h", "--help"} & set(sys.argv[1:]):
        print(doc.strip())
        sys.exit(0)


if __name__ == "__main__":
    answer_help(__doc__)

"""``python -m mlflow_decay.cli``: the command line, as the ``mlflow-decay`` script runs it."""

from . import main

if __name__ == "__main__":  # pragma: no cover
    main()

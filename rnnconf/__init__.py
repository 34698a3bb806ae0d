"""rnnconf: a conformance suite and differential fuzzer for tf.keras.layers.RNN (Keras 2).

One import root. Installed, the stage folders are subpackages of rnnconf (pyproject.toml's
package-dir). In a source checkout they sit beside this folder at the top of the repository, so
rnnconf's package path also names the checkout: rnnconf.impl is impl/, rnnconf.engine is engine/.

The command line lives here: cli.py (parsing, `report`, `scoreboard`), check.py (`check` as a Check
with stages), suite.py (the suite stage: pytest in a subprocess), status.py (exit statuses and the
errors that end a run).
"""
import os

_CHECKOUT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.isfile(os.path.join(_CHECKOUT, "pyproject.toml")) and _CHECKOUT not in __path__:
    __path__.append(_CHECKOUT)

"""The table of reasons on tf_keras' own source: a reachable path is never explained away (the GRU and
LSTM layers' generic loop is no GPU path), and the paths the table calls unreachable get their reason."""
import ast
from pathlib import Path

import pytest

from conformance import oracle_coverage as oc

ROOT = oc.tf_keras_root()
pytestmark = pytest.mark.skipif(ROOT is None, reason="tf_keras is not installed")


def _reason(rel, text, nth=0):
    """The category of the line `nth` after the first line of `rel` that contains `text`."""
    source = (Path(ROOT) / rel).read_text()
    lines = source.splitlines()
    line = next(i for i, t in enumerate(lines, 1) if text in t) + nth
    return oc._explain(rel, line, oc._Scopes(ast.parse(source), lines))["category"]


@pytest.mark.parametrize("rel", ["layers/rnn/gru.py", "layers/rnn/lstm.py"])
def test_the_generic_loop_of_gru_and_lstm_layers_is_no_gpu_path(rel):
    assert _reason(rel, "if not self._could_use_gpu_kernel:", 1) == "gap"
    assert _reason(rel, "            if self._could_use_gpu_kernel:", 1) == "gpu"  # the constructor's log


@pytest.mark.parametrize("rel", ["layers/rnn/gru.py", "layers/rnn/lstm.py"])
def test_the_cudnn_functions_dead_sequence_length_checks_are_defensive(rel):
    assert _reason(rel, "if not time_major and sequence_lengths is None and return_sequences:", 1) == "defensive"
    assert _reason(rel, "    if sequence_lengths is not None:") \
        == "defensive"
    assert _reason(rel, "    if go_backwards:", 1) == "gap"  # reachable: a traced layer traces it


def test_a_cell_built_before_its_layer_is_outside_the_contract():
    assert _reason("layers/rnn/base_rnn.py", "if isinstance(self.cell, base_layer.Layer) and not self.cell.built:") \
        == "outside-contract"
    assert _reason("layers/rnn/stacked_rnn_cells.py", "if isinstance(cell, base_layer.Layer) and not cell.built:") \
        == "outside-contract"

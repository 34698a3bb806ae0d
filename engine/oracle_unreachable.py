"""What the oracle coverage report sets apart: the categories of code outside the contract and the one table
of reasons (UNREACHABLE) why a line of tf_keras cannot run on a CPU machine with one process."""

# Why a path of the contract's files is not reached. A missing line or branch is explained by a row
# of its file whose `where` (a regular expression) matches the qualified name of the function it is
# in and, where `under` is given, whose text occurs in the line or in the header of a statement
# around it (an `if`, `for`, `def` ...; the innermost such match wins). Anything else is a gap. The rows are about
# tf_keras 2.21's source; a category says whether the path can run on this machine at all.
CATEGORIES = {
    "gpu": "cannot run here: GPU only (cuDNN or ROCm kernels and the device checks that select them)",
    "switched-off": "cannot run here: behind a switch tf_keras 2.21 hard-codes off "
                    "(gru_lstm_utils.use_new_gru_lstm_impl() returns False)",
    "tf1": "cannot run here: TF1 graph mode only (tf2 disabled, or no eager execution outside functions)",
    "defensive": "cannot run: a check or branch no input reaches (the code before it already ensures it)",
    "harness": "can run, not the way rnnconf drives the oracle: it builds layers eagerly before it traces "
               "a call, under no XLA",
    "outside-contract": "can run, but is API the contract does not cover, so rnnconf does not call it",
}
_CONFIG = r"(?:\w+\.)?(?:get_config|from_config|_trackable_saved_model_saver|_use_input_spec_as_call_signature)"
_PROPERTY = (r"(?:SimpleRNN|GRU|LSTM)\.(?:units|activation|recurrent_activation|use_bias|\w+_initializer|"
             r"\w+_regularizer|\w+_constraint|unit_forget_bias|dropout|recurrent_dropout|implementation|reset_after)")
SERIALIZATION = "serialization and SavedModel (get_config, from_config, pickling, the SavedModel saver)"
NESTED = "nested inputs (a cell that takes a tuple or dict of tensors per step): not in the contract's clauses"
LIST_MASK = "a list of masks (one per input, as Keras' functional API passes for list inputs)"
UNREACHABLE = [  # (file, where, under, category, why)
    # Everywhere
    ("*", _CONFIG, None, "outside-contract", SERIALIZATION),
    ("*", _PROPERTY, None, "outside-contract", "the layers' read-only properties that mirror their cell's arguments"),
    ("*", r".*", "executing_eagerly_outside_functions()", "tf1",
     "`enable_caching_device` defaults to False only outside TF2's eager mode"),
    ("*", r".*\.__init__", '"enable_caching_device" in kwargs', "outside-contract",
     "the undocumented `enable_caching_device` argument"),
    ("*", r".*\.__init__", "implementation == 0", "outside-contract", "the deprecated `implementation=0`"),
    ("*", r".*\.__init__", '"implementation" in kwargs', "outside-contract",
     "SimpleRNN's ignored `implementation` argument"),
    ("*", r".*", "use_new_gru_lstm_impl()", "switched-off", "the new GRU/LSTM backend wrapper"),
    ("*", r".*", 'list_logical_devices("GPU")', "gpu", "a GPU is visible"),
    ("*", r".*\.__init__", "if self._could_use_gpu_kernel:", "gpu", "logs whether the layer could use cuDNN on a GPU"),
    ("*", r".*", "can_use_gpu", "gpu", "the eager call runs the cuDNN kernel on a GPU"),
    ("*", r".*", 'get_build_info()["is_cuda_build"]', "gpu", "the CUDA and ROCm builds' parameters"),
    ("*", r".*", 'get_build_info()["is_rocm_build"]', "gpu", "a ROCm build"),
    ("*", r".*", "self._return_runtime", "outside-contract", "a private switch of tf_keras' own tests"),
    ("*", r".*", "self.return_runtime", "outside-contract", "a private switch of tf_keras' own tests"),
    ("*", r".*", "isinstance(mask, list)", "outside-contract", LIST_MASK),
    # base_rnn.py
    ("layers/rnn/base_rnn.py", r"RNN\.__init__", '"input_shape" not in kwargs', "outside-contract",
     "the legacy `input_dim` and `input_length` constructor arguments"),
    ("layers/rnn/base_rnn.py", r"RNN\.compute_output_shape.*", None, "outside-contract",
     "`compute_output_shape`, Keras' static shape inference (a functional model in TF2 calls the layer instead)"),
    ("layers/rnn/base_rnn.py", r"RNN\.build\.get_(?:input_spec|step_input_shape)", "isinstance(shape, tf.TensorShape)",
     "outside-contract", NESTED),
    ("layers/rnn/base_rnn.py", r"RNN\.build", "is_nested(input_shape)", "outside-contract", NESTED),
    ("layers/rnn/base_rnn.py", r"RNN\.build", "is_nested(state_size)", "defensive",
     "`state_size` was made a list just before, so it is always nested"),
    ("layers/rnn/base_rnn.py", r"RNN\.(?:get_initial_state|call)", "is_nested(inputs)", "outside-contract", NESTED),
    ("layers/rnn/base_rnn.py", r"RNN\._process_inputs", "len(initial_state) == 0", "outside-contract",
     "a tuple input that carries its initial states (as SavedModel loading passes it; a user's tuple input "
     "fails earlier: ERR-31, ERR-32)"),
    ("layers/rnn/base_rnn.py", r"RNN\.call", "not isinstance(states, (list, tuple))", "defensive",
     "the step function puts a cell's bare new state in a list, so backend.rnn returns a list"),
    ("layers/rnn/base_rnn.py", r"RNN\._validate_args_if_ragged", None, "outside-contract",
     "RaggedTensor inputs (a TensorFlow type; the contract checks their error paths only)"),
    ("layers/rnn/base_rnn.py", r"RNN\.build", "isinstance(self.cell, base_layer.Layer) and not self.cell.built",
     "outside-contract", "a cell already built when its layer builds (one cell object in two layers, or a cell "
     "built by hand first): no clause describes it"),
    # gru.py, lstm.py: the cuDNN functions run on a GPU only, but a traced layer traces them on a CPU too
    ("layers/rnn/gru.py", r"gpu_gru", "sequence_lengths is None and return_sequences", "defensive",
     "`sequence_lengths` was filled just before where it was None, so it is never None here"),
    ("layers/rnn/gru.py", r"gpu_gru", "if sequence_lengths is not None:", "defensive",
     "`sequence_lengths` was filled just before where it was None, so it is never None here"),
    ("layers/rnn/lstm.py", r"gpu_lstm", "sequence_lengths is None and return_sequences", "defensive",
     "`sequence_lengths` was filled just before where it was None, so it is never None here"),
    ("layers/rnn/lstm.py", r"gpu_lstm", "if sequence_lengths is not None:", "defensive",
     "`sequence_lengths` was filled just before where it was None, so it is never None here"),
    # simple_rnn.py
    ("layers/rnn/simple_rnn.py", r"SimpleRNNCell\.call", "self.activation is not None", "defensive",
     "activations.get(None) is the linear function: the cell's activation is never None"),
    # stacked_rnn_cells.py
    ("layers/rnn/stacked_rnn_cells.py", r"StackedRNNCells\.__init__", "self.reverse_state_order", "outside-contract",
     "the deprecated `reverse_state_order` argument"),
    ("layers/rnn/stacked_rnn_cells.py", r"StackedRNNCells\.output_size", None, "outside-contract",
     "the stack's own `output_size`, read only by `compute_output_shape`"),
    ("layers/rnn/stacked_rnn_cells.py", r"StackedRNNCells\.build", "isinstance(cell, base_layer.Layer) and not cell.built",
     "outside-contract", "a stacked cell already built when the stack builds (one cell object in two stacks, or a "
     "cell built by hand first): no clause describes it"),
    ("layers/rnn/stacked_rnn_cells.py", r"StackedRNNCells\.build.*", "isinstance(input_shape, list)",
     "outside-contract", NESTED),
    ("layers/rnn/stacked_rnn_cells.py", r"StackedRNNCells\.build.*", "is_nested(output_dim)", "outside-contract",
     "a stacked cell with nested outputs (a nested `output_size`) feeding the next cell"),
    ("layers/rnn/stacked_rnn_cells.py", r"StackedRNNCells\.build\.get_batch_input_shape", None, "outside-contract",
     "a stacked cell with nested outputs (a nested `output_size`) feeding the next cell"),
    # dropout_rnn_cell_mixin.py
    ("layers/rnn/dropout_rnn_cell_mixin.py", r"DropoutRNNCellMixin\.__(?:get|set)state__", None, "outside-contract",
     SERIALIZATION),
    # rnn_utils.py
    ("layers/rnn/rnn_utils.py", r"standardize_args", "len(inputs) > 1", "defensive",
     "the list was cut to its first element just before"),
    ("layers/rnn/rnn_utils.py", r"caching_device", None, "harness",
     "a cell built inside a tf.function or a TF1 graph (rnnconf builds every layer eagerly first)"),
    ("layers/rnn/rnn_utils.py", r"config_for_enable_caching_device", None, "outside-contract", SERIALIZATION),
    # gru_lstm_utils.py
    ("layers/rnn/gru_lstm_utils.py", r"DefunWrapper\..*", None, "switched-off",
     "only built when use_new_gru_lstm_impl() is true"),
    ("layers/rnn/gru_lstm_utils.py", r"get_context_device_type", "current_device is None", "defensive",
     "eager execution always has a device name"),
    # backend.py, function rnn
    ("backend.py", r"rnn", "not tf.__internal__.tf2.enabled()", "tf1", "TF1 returns every output"),
    ("backend.py", r"rnn\._expand_mask", "is_nested(mask_t)", "defensive",
     "the mask is one tensor (a nested mask fails on `mask.dtype` before: ERR-44), so each step's slice is too"),
    ("backend.py", r"rnn", "is_nested(inputs)", "outside-contract", NESTED),
    ("backend.py", r"rnn", "mask.dtype != tf.bool", "harness",
     "a mask that is not boolean (rnnconf's cases pass 0/1 masks as booleans on both sides)"),
    ("backend.py", r"rnn", "len(mask.shape) == 2", "outside-contract", "a mask of more than two dimensions"),
    ("backend.py", r"rnn", "GraphOrParentsInXlaContext", "harness", "XLA compilation (jit_compile)"),
    ("backend.py", r"rnn", "isinstance(input_length, tf.Tensor)", "outside-contract",
     "RaggedTensor inputs, whose row lengths become the sequence lengths"),
    ("backend.py", r"rnn\._step|rnn\.set_shape|rnn\.compute_masked_output", "isinstance(new_state, tf.Tensor)",
     "outside-contract", "a cell that returns a state that is not a tensor"),
    ("backend.py", r"rnn\.set_shape", "isinstance(output_, tf.Tensor)", "outside-contract",
     "a cell that returns an output that is not a tensor"),
]

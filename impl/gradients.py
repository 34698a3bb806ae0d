"""Back-propagation through time: the gradients of gradients.md's shared loss, in NumPy.

`layer_gradients(layer, inputs, cotangents, ...)` calls an RNN layer once, as `layer(...)` would,
while recording what each timestep's cell saw, then runs the time loop backwards:

* each built-in cell has a backward step (`_simple_backward`, `_gru_backward`, `_lstm_backward`): from
  the step's input, previous states, dropout masks and the gradients reaching its output and new
  states, the gradients of its input, previous states and weights (the gates are recomputed);
  a StackedRNNCells step runs its cells' backward steps in reverse;
* the loop (`_backward_through_time`) walks the recorded steps in reverse processing order. At a
  masked timestep the new state is the old one, so the state's gradient passes to the carried state
  unchanged and nothing reaches the cell; a masked output repeats the previous output (or is zero
  with `zero_output_for_mask`), so its gradient flows to that earlier output. `unroll`'s oracle quirks
  (zeroed outputs masked in input order, see loop._unrolled) are followed as its forward pass does;
* `go_backwards` and `time_major` only change where a step's input gradient is written.

The loss is L = sum_i sum(c_i * y_i) over the flat returned tensors y_i (outputs, then states), with
the caller's cotangents c_i. Gradients are returned for the inputs, each state of `initial_state`
(flat, in state order; zeros where a stateful layer used its kept states instead, which get none),
each constant, and each weight in `layer.weights` order.

What it cannot differentiate raises NotImplementedError, which rnnconf reads as unsupported: custom
cells (their `call` is arbitrary code), activations given as callables, nested inputs, and cells
that take constants (no built-in cell does).
"""
import numpy as np

from . import activations
from .cells import GRUCell, LSTMCell, SimpleRNNCell, StackedRNNCells
from .nest import flatten, is_nested


def unsupported(what):
    return NotImplementedError(f"gradients of {what} (the reference differentiates the built-in cells only)")


# ---- activations ------------------------------------------------------------------------------------
def _activation_grad(fn, a):
    """d fn(a) / d a, elementwise, for the Keras 2 activations (activations._BY_NAME)."""
    if fn is activations.linear:
        return np.ones_like(a)
    if fn is activations.tanh:
        return 1 - np.tanh(a) ** 2
    if fn is activations.sigmoid:
        s = activations.sigmoid(a)
        return s * (1 - s)
    if fn is activations.hard_sigmoid:
        y = 0.2 * a + 0.5
        return np.where((y > 0) & (y < 1), 0.2, 0.0).astype(a.dtype)
    if fn is activations.relu:
        return (a > 0).astype(a.dtype)
    if fn is activations.elu:
        return np.where(a > 0, 1.0, np.exp(np.minimum(a, 0))).astype(a.dtype)
    if fn is activations.selu:
        alpha, scale = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
        return (scale * np.where(a > 0, 1.0, alpha * np.exp(np.minimum(a, 0)))).astype(a.dtype)
    if fn is activations.softplus:
        return activations.sigmoid(a)
    if fn is activations.softsign:
        return 1 / (1 + np.abs(a)) ** 2
    if fn is activations.swish:
        s = activations.sigmoid(a)
        return s + a * s * (1 - s)
    if fn is activations.exponential:
        return np.exp(a)
    raise unsupported(f"the activation {getattr(fn, '__name__', fn)!r}")


# ---- the cells' backward steps ----------------------------------------------------------------------
def _masks(masks, count, implementation):
    """Per gate, the dropout mask applied to that gate's operand (None: none). Implementation 2 uses
    the first mask for every gate, as the cells' forward passes do."""
    if masks is None:
        return [None] * count
    masks = masks if isinstance(masks, list) else [masks]
    return [masks[g] if implementation == 1 else masks[0] for g in range(count)]


def _apply(x, mask):
    return x if mask is None else x * mask


def _input_grads(da, x_in, masks, kernel, u):
    """For gates g with pre-activation gradients da[g] of x_in[g] @ kernel[:, g]: (d kernel, d x)."""
    d_kernel = np.concatenate([x_in[g].T @ da[g] for g in range(len(da))], axis=1)
    dx = sum(_apply(da[g] @ kernel[:, g * u:(g + 1) * u].T, masks[g]) for g in range(len(da)))
    return d_kernel, dx


def _dropout_of(cell):
    return cell._dropout_masks, cell._recurrent_dropout_masks


def _simple_backward(cell, x, states, d_out, d_states):
    h = states[0]
    dp, rdp = _dropout_of(cell)
    x_in, h_in = _apply(x, dp), _apply(h, rdp)
    a = x_in @ cell.kernel + h_in @ cell.recurrent_kernel
    if cell.bias is not None:
        a = a + cell.bias
    da = (d_out + d_states[0]) * _activation_grad(cell.activation, a)
    grads = [x_in.T @ da, h_in.T @ da] + ([da.sum(0)] if cell.bias is not None else [])
    dx = _apply(da @ cell.kernel.T, dp)
    dh = _apply(da @ cell.recurrent_kernel.T, rdp)
    return dx, [dh], grads


def _gru_backward(cell, x, states, d_out, d_states):
    h, u, k, rk = states[0], cell.units, cell.kernel, cell.recurrent_kernel
    dp, rdp = _dropout_of(cell)
    x_in = [_apply(x, m) for m in _masks(dp, 3, cell.implementation)]
    x_masks = _masks(dp, 3, cell.implementation)
    h_masks = _masks(rdp, 3, cell.implementation)
    h_in = [_apply(h, m) for m in h_masks]
    if cell.use_bias:
        in_bias, rec_bias = (cell.bias[0], cell.bias[1]) if cell.reset_after else (cell.bias, None)
    else:
        in_bias = rec_bias = None
    xs = [x_in[g] @ k[:, g * u:(g + 1) * u] + (in_bias[g * u:(g + 1) * u] if in_bias is not None else 0)
          for g in range(3)]
    rec = [h_in[g] @ rk[:, g * u:(g + 1) * u] + (rec_bias[g * u:(g + 1) * u] if rec_bias is not None else 0)
           for g in range(2)]
    a_z, a_r = xs[0] + rec[0], xs[1] + rec[1]
    z, r = cell.recurrent_activation(a_z), cell.recurrent_activation(a_r)
    if cell.reset_after:
        rec_h = h_in[2] @ rk[:, 2 * u:] + (rec_bias[2 * u:] if rec_bias is not None else 0)
        a_h = xs[2] + r * rec_h
    else:
        a_h = xs[2] + (r * h_in[2]) @ rk[:, 2 * u:]
    hh = cell.activation(a_h)
    dh_new = d_out + d_states[0]
    dh = dh_new * z
    da_z = dh_new * (h - hh) * _activation_grad(cell.recurrent_activation, a_z)
    da_h = dh_new * (1 - z) * _activation_grad(cell.activation, a_h)
    if cell.reset_after:
        dr = da_h * rec_h
        d_rec_h = da_h * r  # the gradient of h_in[2] @ rk_h + its bias
        d_rk_h = h_in[2].T @ d_rec_h
        dh_2 = d_rec_h @ rk[:, 2 * u:].T
    else:
        d_rh = da_h @ rk[:, 2 * u:].T  # the gradient of r * h_in[2]
        d_rk_h = (r * h_in[2]).T @ da_h
        dr = d_rh * h_in[2]
        dh_2 = d_rh * r
    da_r = dr * _activation_grad(cell.recurrent_activation, a_r)
    d_kernel, dx = _input_grads([da_z, da_r, da_h], x_in, x_masks, k, u)
    d_rk = np.concatenate([h_in[0].T @ da_z, h_in[1].T @ da_r, d_rk_h], axis=1)
    dh = dh + _apply(da_z @ rk[:, :u].T, h_masks[0]) + _apply(da_r @ rk[:, u:2 * u].T, h_masks[1]) \
        + _apply(dh_2, h_masks[2])
    grads = [d_kernel, d_rk]
    if cell.use_bias:
        d_in_bias = np.concatenate([da_z.sum(0), da_r.sum(0), da_h.sum(0)])
        if cell.reset_after:
            grads.append(np.stack([d_in_bias, np.concatenate([da_z.sum(0), da_r.sum(0), d_rec_h.sum(0)])]))
        else:
            grads.append(d_in_bias)
    return dx, [dh], grads


def _lstm_backward(cell, x, states, d_out, d_states):
    h, c_prev, u, k, rk = states[0], states[1], cell.units, cell.kernel, cell.recurrent_kernel
    dp, rdp = _dropout_of(cell)
    x_masks, h_masks = _masks(dp, 4, cell.implementation), _masks(rdp, 4, cell.implementation)
    x_in, h_in = [_apply(x, m) for m in x_masks], [_apply(h, m) for m in h_masks]
    a = [x_in[g] @ k[:, g * u:(g + 1) * u] + h_in[g] @ rk[:, g * u:(g + 1) * u]
         + (cell.bias[g * u:(g + 1) * u] if cell.use_bias else 0) for g in range(4)]
    ra, act = cell.recurrent_activation, cell.activation
    i, f, g_, o = ra(a[0]), ra(a[1]), act(a[2]), ra(a[3])
    c = f * c_prev + i * g_
    dh = d_out + d_states[0]
    dc = d_states[1] + dh * o * _activation_grad(act, c)
    da = [dc * g_ * _activation_grad(ra, a[0]), dc * c_prev * _activation_grad(ra, a[1]),
          dc * i * _activation_grad(act, a[2]), dh * act(c) * _activation_grad(ra, a[3])]
    d_kernel, dx = _input_grads(da, x_in, x_masks, k, u)
    d_rk = np.concatenate([h_in[g].T @ da[g] for g in range(4)], axis=1)
    dh_prev = sum(_apply(da[g] @ rk[:, g * u:(g + 1) * u].T, h_masks[g]) for g in range(4))
    grads = [d_kernel, d_rk] + ([np.concatenate([d.sum(0) for d in da])] if cell.use_bias else [])
    return dx, [dh_prev, dc * f], grads


_BACKWARD = {SimpleRNNCell: _simple_backward, GRUCell: _gru_backward, LSTMCell: _lstm_backward}


def _state_count(cell):
    return len(flatten(cell.state_size)) if is_nested(cell.state_size) else 1


def check_differentiable(cell):
    """Raise NotImplementedError unless `cell` is a built-in cell, or a stack of them, whose
    activations have known derivatives."""
    if isinstance(cell, StackedRNNCells):
        for inner in cell.cells:
            check_differentiable(inner)
        return
    if type(cell) not in _BACKWARD:
        raise unsupported(f"the custom cell {type(cell).__name__}")
    for fn in (cell.activation, getattr(cell, "recurrent_activation", activations.linear)):
        _activation_grad(fn, np.zeros(1, cell.dtype))


def _autocast(x, layer):
    """`x` as layer.__call__ hands it to call(): floating inputs cast to the layer's dtype (Layer._autocast).
    The cast's gradient is the cast back, so a float64 input through a float32 stack (tf_keras'
    StackedRNNCells keeps the default dtype) gets a gradient rounded to float32, as in the oracle."""
    return x.astype(layer.dtype) if x.dtype.kind == "f" and x.dtype != layer.dtype else x


def step_backward(cell, x, states, d_out, d_states):
    """(d x, [d previous state per flat state], [d weight in the cell's weights order]) of one step."""
    if isinstance(cell, StackedRNNCells):
        inputs, offset = [_autocast(x, cell)], 0
        per_cell = []
        for inner in cell.cells:
            n = _state_count(inner)
            inner_x, inner_states = _autocast(inputs[-1], inner), list(states[offset:offset + n])
            per_cell.append((inner, inputs[-1], inner_x, inner_states, offset, n))
            output, _ = inner.call(inner_x, inner_states)
            inputs.append(output)
            offset += n
        d_prev = [None] * len(states)
        grads = []
        for inner, given, inner_x, inner_states, offset, n in reversed(per_cell):
            d_x, d_inner, inner_grads = step_backward(inner, inner_x, inner_states, d_out,
                                                      d_states[offset:offset + n])
            d_out = d_x.astype(given.dtype, copy=False)
            d_prev[offset:offset + n] = d_inner
            grads = inner_grads + grads
        return d_out.astype(x.dtype, copy=False), d_prev, grads
    return _BACKWARD[type(cell)](cell, x, states, d_out, d_states)


# ---- the time loop, backwards -----------------------------------------------------------------------
class _Recorder:
    """Wraps the layer's step function: keeps each step's input and previous states, in processing
    order (the loop's own step calls, so the states are exactly those the forward pass carried)."""

    def __init__(self, layer):
        self.layer, self.steps = layer, []
        self._original = layer._step_function

    def __enter__(self):
        def step_function(training, constants):
            step = self._original(training, constants)

            def recorded(inputs, states):
                # Copies: a stateful layer overwrites its kept states in place once the loop is done.
                self.steps.append((inputs, [np.array(s) for s in flatten(list(states))]))
                return step(inputs, states)
            return recorded
        self.layer._step_function = step_function
        return self

    def __exit__(self, *exc):
        del self.layer._step_function


def _mask_per_step(layer, mask, order, batch):
    """Per processing step, the mask column as (batch, 1) booleans, or None without a mask."""
    if mask is None:
        return None
    m = np.asarray(flatten(mask)[0]).astype(bool)
    if m.ndim == 3:
        m = m[..., 0]
    if not layer.time_major:
        m = m.T  # (T, B)
    return [m[t].reshape(batch, 1) for t in order]


def _route_masked(m, g, d_states, carries_previous):
    """At a timestep with mask column `m`: (the output gradient reaching the cell, the part carried
    to the previous output, the state gradients passed by to the previous states, those reaching
    the cell). A masked row's output repeats the previous one (or is zero) and its states are the
    previous ones: nothing of it reaches the cell."""
    kept = [m.reshape(m.shape + (1,) * (s.ndim - 2)) for s in d_states]
    carry = np.where(m, 0, g) if carries_previous else None
    return (np.where(m, g, 0), carry, [np.where(k, 0, s) for k, s in zip(kept, d_states)],
            [np.where(k, s, 0) for k, s in zip(kept, d_states)])


class Backward:
    """The backward pass's parts: one cell step (step_backward) and the routing at a masked timestep
    (_route_masked). The planted targets of rnnconf's own tests subclass it with a bug."""
    step = staticmethod(step_backward)
    route_masked = staticmethod(_route_masked)


def _backward_through_time(layer, recorded, d_outputs, d_final_states, masks, backward=Backward):
    """(d inputs per processing step, d initial states flat, d weights) from the gradients of the
    collected outputs per processing step (None: none) and of the final states."""
    carries_previous = masks is not None and (layer.unroll or not layer.zero_output_for_mask)
    d_states = list(d_final_states)
    carry, d_weights = None, None
    d_inputs = [None] * len(recorded)
    for i in range(len(recorded) - 1, -1, -1):
        x_t, states_t = recorded[i]
        g = d_outputs[i]
        if carry is not None:
            g = carry if g is None else g + carry
        if g is None:
            g = np.zeros_like(_output_like(layer.cell, x_t, states_t))
        if masks is not None:
            g_cell, carry, passed, to_cell = backward.route_masked(masks[i], g, d_states, carries_previous)
        else:
            g_cell, passed, to_cell = g, [0] * len(d_states), d_states
        dx, d_prev, grads = backward.step(layer.cell, x_t, states_t, g_cell, to_cell)
        d_inputs[i] = dx
        d_states = [p + d for p, d in zip(passed, d_prev)]
        d_weights = grads if d_weights is None else [a + b for a, b in zip(d_weights, grads)]
    return d_inputs, d_states, d_weights


def _output_like(cell, x, states):
    """A zero array shaped like the cell's output at this step."""
    if isinstance(cell, StackedRNNCells):
        cell = cell.cells[-1]
    return np.zeros((x.shape[0], cell.units), x.dtype)


def layer_gradients(layer, inputs, cotangents, mask=None, training=None, initial_state=None, constants=None,
                    backward=Backward):
    """(what `layer(inputs, ...)` returns, gradients) for L = sum(c_i * y_i) over the flat returned
    tensors y_i, where `cotangents(flat_results)` gives the c_i (arrays shaped like the y_i).
    gradients: {"inputs": array, "initial_state": [array per flat state] or None,
                "constants": [array per constant] or None, "weights": [array per layer.weights entry]}."""
    if constants:
        raise unsupported("cells that take constants")
    if isinstance(inputs, (list, tuple)):
        raise unsupported("nested or list inputs")
    if layer.built:
        check_differentiable(layer.cell)
    kept_states_used = layer.stateful and layer.built and (
        initial_state is None or any(np.count_nonzero(s) for s in flatten(layer.states)))
    kwargs = {"mask": mask} if mask is not None else {}
    if training is not None:
        kwargs["training"] = training
    if initial_state is not None:
        kwargs["initial_state"] = initial_state
    with _Recorder(layer) as recorder:
        result = layer(inputs, **kwargs)
    check_differentiable(layer.cell)
    flat = [np.asarray(r) for r in flatten(result)] if isinstance(result, list) else [np.asarray(result)]
    c = [np.asarray(v, flat[i].dtype) for i, v in enumerate(cotangents(flat))]
    x = np.asarray(inputs)
    time_steps, batch = (x.shape[0], x.shape[1]) if layer.time_major else (x.shape[1], x.shape[0])
    order = list(range(time_steps - 1, -1, -1)) if layer.go_backwards else list(range(time_steps))
    masks = _mask_per_step(layer, mask, order, batch)
    unroll_zeroes = layer.unroll and masks is not None and layer.zero_output_for_mask
    d_outputs = [None] * time_steps
    if layer.return_sequences:
        seq = c[0] if layer.time_major else np.swapaxes(c[0], 0, 1)  # (T, B, ...) in processing order
        if unroll_zeroes:
            # The unrolled loop zeroes the sequence with the mask in input order (loop._unrolled).
            in_order = _mask_per_step(layer, mask, range(time_steps), batch)
            seq = [np.where(in_order[i], seq[i], 0) for i in range(time_steps)]
        d_outputs = [np.asarray(seq[i]) for i in range(time_steps)]
    else:
        d_outputs[-1] = np.where(masks[-1], c[0], 0) if unroll_zeroes else c[0]
    d_final = c[1:] if layer.return_state else [np.zeros_like(s) for s in recorder.steps[-1][1]]
    fused_mask = _fused_input_dropout(layer)
    d_steps, d_initial, d_weights = _backward_through_time(layer, recorder.steps, d_outputs, d_final, masks,
                                                           backward)
    d_x = np.zeros((time_steps, batch) + x.shape[2:], x.dtype)
    for i, t in enumerate(order):
        d_x[t] = d_steps[i]
    if not layer.time_major:
        d_x = np.swapaxes(d_x, 0, 1)
    if fused_mask is not None:
        d_x = d_x * fused_mask
    by_id = dict(zip((id(w) for w in _cell_weights(layer.cell)), d_weights))
    grads = {
        "inputs": d_x,
        "initial_state": None if initial_state is None else
        [np.zeros_like(s) if kept_states_used else s for s in d_initial],
        "constants": None,
        "weights": [by_id.get(id(w), np.zeros_like(w)).astype(w.dtype, copy=False) for w in layer.weights],
    }
    return result, grads


def _fused_input_dropout(layer):
    """The whole-sequence input dropout mask of tf_keras' fused GRU/LSTM path (layers._gated_call),
    or None. Its cell ran with training=False, so its backward steps must see no mask of their own."""
    if not getattr(layer, "_fused_path", False) or layer.cell._dropout_masks is None:
        return None
    mask, layer.cell._dropout_masks = layer.cell._dropout_masks, None
    return mask


def _cell_weights(cell):
    """The weights step_backward's gradients are listed for, in its order."""
    if isinstance(cell, StackedRNNCells):
        return [w for inner in cell.cells for w in _cell_weights(inner)]
    return [cell.kernel, cell.recurrent_kernel] + ([cell.bias] if cell.bias is not None else [])


def rnnconf_gradients(layer, inputs, kwargs, cotangents):
    """The adapter protocol's gradient hook (engine/gradients.py): layer_gradients of one call."""
    return layer_gradients(layer, inputs, cotangents, **kwargs)

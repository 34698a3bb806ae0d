"""The time loop under every RNN layer: a NumPy port of the semantics of tf_keras' `backend.rnn`.

Two paths, as in the oracle: the symbolic loop (`unroll=False`) and the unrolled one. They give the
same numbers except where the oracle's unrolled path has a documented bug (see
engine/deviations.py, DEV-unroll-backwards-zero-mask), which is kept here on purpose.
"""
import numpy as np

from .checked_ops import dims_text
from .errors import InvalidArgumentError, OutOfRangeError
from .nest import flatten, is_nested, pack_sequence_as


def _swap_batch_time(x):
    return np.swapaxes(x, 0, 1)


def _expand_mask(mask_t, like):
    """Broadcastable boolean mask for one output or state: (B, 1) -> (B, 1, ..., 1)."""
    return mask_t.reshape(mask_t.shape + (1,) * (like.ndim - mask_t.ndim))


def _where(mask_t, new, old):
    try:
        return np.where(_expand_mask(mask_t, new), new, old)
    except ValueError as e:
        raise InvalidArgumentError(
            f"condition [{dims_text(mask_t)}], then [{dims_text(new)}], and else [{dims_text(old)}] must be "
            "broadcastable [Op:SelectV2]") from e


def rnn(step, inputs, initial_states, *, go_backwards=False, mask=None, constants=(), unroll=False,
        time_major=False, zero_output_for_mask=False, return_all_outputs=True):
    """Run `step(input_t, states + constants) -> (output_t, new_states)` over the time axis.

    Returns (last_output, outputs, new_states); outputs are (B, T, ...) unless time_major, and
    T is 1 when return_all_outputs is False.
    """
    flat_inputs = flatten(inputs)
    for x in flat_inputs:
        shape = x.shape if time_major else (x.shape[1::-1] + x.shape[2:] if x.ndim >= 2 else x.shape)
        if x.ndim < 3:
            raise ValueError(f"Shape {tuple(shape)} must have rank at least 3")
    if not time_major:
        flat_inputs = [_swap_batch_time(x) for x in flat_inputs]
    time_steps = flat_inputs[0].shape[0]
    if mask is not None:
        mask = np.asarray(mask).astype(bool)
        if mask.ndim == 2:
            mask = mask[..., None]
        if not time_major:
            mask = _swap_batch_time(mask)
    constants = tuple(constants or ())
    states = tuple(initial_states)

    def input_at(t):
        return pack_sequence_as(inputs, [x[t] for x in flat_inputs]) if is_nested(inputs) else flat_inputs[0][t]

    order = range(time_steps - 1, -1, -1) if go_backwards else range(time_steps)

    if unroll:
        outputs, last_output, states = _unrolled(step, input_at, order, states, constants, mask,
                                                 go_backwards, zero_output_for_mask, return_all_outputs)
    else:
        outputs, states = _looped(step, input_at, order, states, constants, mask, go_backwards,
                                  zero_output_for_mask, return_all_outputs, time_steps)
        last_output = [o[-1] for o in outputs]
    batch = flat_inputs[0].shape[1]
    for o in outputs:  # the oracle's static shape inference: (T or 1, batch, ...)
        if o.shape[1] != batch:  # an unrolled mask of batch B > 1 broadcast over an input of batch 1
            raise ValueError(f"Tensor's shape {_dims(o.shape)} is not compatible with supplied shape "
                             f"{_dims((o.shape[0], batch) + o.shape[2:])}.")
    if not time_major:
        outputs = [_swap_batch_time(o) for o in outputs]
    # Outputs were collected flat; restore the cell's output nesting.
    return _unflat(last_output), _unflat(outputs), list(states)


def _dims(shape):
    """A shape as TensorShape prints it: (2, 3), (2,)."""
    return str(tuple(int(d) for d in shape))


def _unflat(flat):
    return flat[0] if len(flat) == 1 else list(flat)


def _looped(step, input_at, order, states, constants, mask, go_backwards, zero_output_for_mask,
            return_all_outputs, time_steps):
    if mask is not None:
        if mask.shape[0] > time_steps:
            raise ValueError(f"Cannot unstack {mask.shape[0]} tensors into a TensorArray of static size {time_steps}")
        mask_seq = mask[::-1] if go_backwards else mask
    collected = []
    prev_output = None
    for i, t in enumerate(order):
        output, new_states = step(input_at(t), states + constants)
        flat_output = flatten(output)
        flat_states, flat_new = flatten(states), flatten(new_states)
        for old, new in zip(flat_states, flat_new):
            if np.shape(new) != np.shape(old):
                raise ValueError(
                    f"Tensor's shape {tuple(np.shape(new))} is not compatible with supplied shape "
                    f"{tuple(np.shape(old))}.")
        if mask is not None:
            if i >= mask_seq.shape[0]:
                raise OutOfRangeError(f"Tried to read from index {i} but array size is: {mask_seq.shape[0]}")
            mask_t = mask_seq[i]
            if prev_output is None:
                prev_output = [np.zeros_like(o) for o in flat_output]
            fallback = [np.zeros_like(o) for o in flat_output] if zero_output_for_mask else prev_output
            masked = [_where(mask_t, o, f) for o, f in zip(flat_output, fallback)]
            for before, after in zip(flat_output, masked):
                if after.shape != before.shape:  # a mask of batch B > 1 broadcast over an input of batch 1
                    raise ValueError(f"Incompatible shape for value ({_dims(after.shape)}), expected ({_dims(before.shape)})")
            flat_output = masked
            # zip() truncates like the oracle's when a cell returns fewer states than it declared...
            final = [_where(mask_t, new, old) for new, old in zip(flat_new, flat_states)]
            if len(final) != len(flat_states):
                # ...and then its while_loop finds the body's states unlike the loop's.
                raise ValueError("The two structures don't have the same nested structure.\n\n"
                                 f"First structure: {len(flat_states)} states\n\nSecond structure: {len(final)} states")
            states = tuple(pack_sequence_as(new_states, final)) if is_nested(new_states) else (final[0],)
            prev_output = flat_output
        else:
            states = tuple(pack_sequence_as(list(states), flat_new))
        if return_all_outputs or not collected:
            collected.append(flat_output)
        else:
            collected[0] = flat_output
    return [np.stack(seq) for seq in zip(*collected)], states


def _unrolled(step, input_at, order, states, constants, mask, go_backwards, zero_output_for_mask,
              return_all_outputs):
    if mask is not None:
        mask_list = list(mask)
        if go_backwards:
            mask_list.reverse()
    collected, kept_states = [], []
    for i, t in enumerate(order):
        output, new_states = step(input_at(t), states + constants)
        if mask is not None:
            mask_t = mask_list[i]  # IndexError on a short mask, as the oracle's Python list
            if is_nested(output):
                raise ValueError(f"input_t is expected to be tensor, but got {output}")
            prev = collected[-1][0] if collected else np.zeros_like(output)
            output = _where(mask_t, output, prev)
            flat_states, flat_new = flatten(states), flatten(new_states)
            final = [_where(mask_t, new, old) for new, old in zip(flat_new, flat_states)]
            new_states = pack_sequence_as(states, final)
        states = tuple(new_states)
        entry = flatten(output)
        if return_all_outputs:
            collected.append(entry)
            kept_states.append(states)
        else:
            collected, kept_states = [entry], [states]
    last_output = collected[-1]
    states = kept_states[-1]
    outputs = [np.stack(seq) for seq in zip(*collected)]
    if mask is not None and zero_output_for_mask:
        last_output = [_where(mask_list[-1], o, np.zeros_like(o)) for o in last_output]
        # Oracle bug kept on purpose: the sequence is masked with the mask in input order, even when
        # go_backwards made the outputs come out in reversed order.
        outputs = [np.where(mask.reshape(mask.shape + (1,) * (o.ndim - mask.ndim)), o, np.zeros_like(o))
                   for o in outputs]
        if not return_all_outputs:
            # Oracle bug kept on purpose (DEV-unroll-zero-mask-last-output): without return_sequences
            # only the last output is kept, and masking it with the whole mask broadcasts it back to
            # `timesteps` rows, which the oracle's final shape check rejects.
            for o in outputs:
                if o.shape[0] != 1:
                    raise ValueError(f"Tensor's shape {o.shape} is not compatible with supplied shape "
                                     f"{(1,) + o.shape[1:]}.")
    return outputs, last_output, states

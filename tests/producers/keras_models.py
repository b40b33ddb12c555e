"""Writes Keras models the way their users save them, with Keras's own outputs beside them.

Run as `KERAS_BACKEND=torch python keras_models.py OUT_DIR` (a subprocess, once per test
session: importing Keras is slow, and it stays out of the test process). Every weight is random,
biases included, so a gate or bias mapped to the wrong place cannot pass unnoticed.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402

IDS = np.array([[1, 2, 3, 0, 4, 6, 5, 5, 2, 1, 0, 3]])  # (1, T) token ids, V = 7
V = 7


def randomise(model: keras.Model, seed: int) -> None:
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 0.5, w.shape).astype("float32")
                       for w in model.get_weights()])


def outputs(model: keras.Model, names: list[str], x) -> dict[str, np.ndarray]:
    """The named layers' outputs on x (h at every step for a recurrent layer)."""
    probe = keras.Model(model.inputs, [model.get_layer(n).output for n in names])
    found = probe(x, training=False)
    found = found if isinstance(found, list | tuple) else [found]
    return {n: keras.ops.convert_to_numpy(v[0] if isinstance(v, list | tuple) else v)
            for n, v in zip(names, found)}


def char_models(out: Path) -> None:
    one_hot = np.eye(V, dtype="float32")[IDS]
    lm = keras.Sequential([keras.Input(shape=(None,)), layers.Embedding(V, 3),
                           layers.LSTM(5, return_sequences=True, name="lstm_a"),
                           layers.Dropout(0.2),
                           layers.LSTM(5, return_sequences=True, name="lstm_b"),
                           layers.Dense(V, name="logits")])
    randomise(lm, 0)
    lm.save(out / "lm.keras")
    lm.save(out / "lm.h5")
    np.savez(out / "lm.npz", **outputs(lm, ["lstm_a", "lstm_b", "logits"], IDS))

    gru = keras.Sequential([keras.Input(shape=(None, V)),
                            layers.GRU(6, return_sequences=True, name="gru"),
                            layers.TimeDistributed(layers.Dense(V, activation="softmax"),
                                                   name="probs")])
    randomise(gru, 1)
    gru.save(out / "gru.keras")
    gru.save(out / "gru.h5")
    np.savez(out / "gru.npz", **outputs(gru, ["gru", "probs"], one_hot))

    rnn = keras.Sequential([keras.Input(shape=(None,)), layers.Embedding(V, 4),
                            layers.SimpleRNN(6, return_sequences=True, activation="relu",
                                             name="rnn"),
                            layers.Dense(V, activation="softmax", name="probs")])
    randomise(rnn, 2)
    rnn.save(out / "rnn.keras")
    rnn.save_weights(out / "rnn.weights.h5")
    np.savez(out / "rnn.npz", **outputs(rnn, ["rnn", "probs"], IDS))

    old_gru = keras.Sequential([keras.Input(shape=(None, V)),
                                layers.GRU(4, return_sequences=True, reset_after=False),
                                layers.Dense(V)])
    old_gru.save(out / "gru_reset_before.keras")


def lstm_seq2seq(out: Path) -> None:
    """The Keras example's model: `encoder_states = [state_h, state_c]` starts the decoder."""
    source_tokens, target_tokens, units = 5, 6, 8
    encoder_inputs = keras.Input(shape=(None, source_tokens))
    _, state_h, state_c = layers.LSTM(units, return_state=True, name="encoder")(encoder_inputs)
    decoder_inputs = keras.Input(shape=(None, target_tokens))
    decoder_outputs, _, _ = layers.LSTM(units, return_sequences=True, return_state=True,
                                        name="decoder")(decoder_inputs,
                                                        initial_state=[state_h, state_c])
    probs = layers.Dense(target_tokens, activation="softmax", name="probs")(decoder_outputs)
    model = keras.Model([encoder_inputs, decoder_inputs], probs)
    randomise(model, 3)
    model.save(out / "s2s.keras")
    source = np.eye(source_tokens, dtype="float32")[[[1, 3, 2, 4]]]
    target = np.eye(target_tokens, dtype="float32")[[[0, 2, 5, 3, 4]]]  # starts at the start token
    found = outputs(model, ["decoder", "probs"], [source, target])
    encoder = keras.Model(encoder_inputs, [state_h, state_c])
    h, c = (keras.ops.convert_to_numpy(v) for v in encoder(source, training=False))
    np.savez(out / "s2s.npz", handoff_h=h, handoff_c=c, decoder=found["decoder"],
             probs=found["probs"], source=np.array([1, 3, 2, 4]), target=np.array([0, 2, 5, 3, 4]))


if __name__ == "__main__":
    target = Path(sys.argv[1])
    char_models(target)
    lstm_seq2seq(target)

"""Models written the way common PyTorch tutorials and examples write them (not our classes)."""

import torch
from torch import nn

LETTERS = "abcdefgh"
VOCAB = list(LETTERS)
SEQ_VOCAB = ["<s>", "</s>", *LETTERS]


class WordLanguageModel(nn.Module):
    """pytorch/examples word_language_model: encoder / rnn / decoder, optional tied weights."""

    def __init__(self, rnn_type="LSTM", ntoken=8, ninp=12, nhid=12, nlayers=2, tie=True):
        super().__init__()
        self.drop = nn.Dropout(0.5)
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = getattr(nn, rnn_type)(ninp, nhid, nlayers, dropout=0.5 if nlayers > 1 else 0.0)
        self.decoder = nn.Linear(nhid, ntoken)
        if tie:
            self.decoder.weight = self.encoder.weight

    def forward(self, input, hidden):
        emb = self.drop(self.encoder(input))
        output, hidden = self.rnn(emb, hidden)
        return self.decoder(self.drop(output)), hidden


class OneHotCharRNN(nn.Module):
    """A char model fed one-hot vectors (as in the char-RNN tutorials), plain relu nn.RNN."""

    def __init__(self, n=8, hidden=10):
        super().__init__()
        self.rnn = nn.RNN(n, hidden, nonlinearity="relu", batch_first=True)
        self.h2o = nn.Linear(hidden, n)

    def forward(self, ids, hidden=None):
        x = nn.functional.one_hot(ids, 8).float()
        out, hidden = self.rnn(x, hidden)
        return self.h2o(out), hidden


class Nested(nn.Module):
    """Submodules inside submodules: body.embed / body.core / out.proj."""

    def __init__(self):
        super().__init__()
        self.body = nn.ModuleDict({"embed": nn.Embedding(8, 5), "core": nn.GRU(5, 9, 3)})
        self.out = nn.ModuleDict({"proj": nn.Linear(9, 8)})

    def forward(self, ids, hidden=None):
        out, hidden = self.body["core"](self.body["embed"](ids), hidden)
        return self.out["proj"](out), hidden


class NormedLSTM(nn.Module):
    """Own forward with extra layers around the LSTM: one step per call (the factory protocol)."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(8, 6)
        self.lstm = nn.LSTM(6, 7, 2, batch_first=True)
        self.norm = nn.LayerNorm(7)
        self.drop = nn.Dropout(0.3)
        self.head = nn.Linear(7, 8)

    def forward(self, x_t, hidden):
        out, hidden = self.lstm(torch.relu(self.embed(x_t)), hidden)
        return self.head(self.drop(self.norm(out))), hidden


class EncoderRNN(nn.Module):
    """The seq2seq translation tutorial's encoder, one token per call."""

    def __init__(self, n=10, hidden=12):
        super().__init__()
        self.embedding = nn.Embedding(n, hidden)
        self.gru = nn.GRU(hidden, hidden, batch_first=True)

    def forward(self, x_t, hidden):
        return self.gru(self.embedding(x_t), hidden)


class DecoderRNN(nn.Module):
    """The tutorial's decoder: relu(embedding) -> GRU -> Linear, one token per call."""

    def __init__(self, n=10, hidden=12):
        super().__init__()
        self.embedding = nn.Embedding(n, hidden)
        self.gru = nn.GRU(hidden, hidden, batch_first=True)
        self.out = nn.Linear(hidden, n)

    def forward(self, x_t, hidden):
        output, hidden = self.gru(torch.relu(self.embedding(x_t)), hidden)
        return self.out(output), hidden


def build_normed():
    torch.manual_seed(4)
    return NormedLSTM().eval()


def build_pair():
    torch.manual_seed(5)
    return EncoderRNN().eval(), DecoderRNN().eval()


def build_broken():
    raise RuntimeError("weights file missing")


class WholeSequence(nn.Module):
    """Written for whole sequences, not the one-step protocol: forward(ids) -> logits."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(8, 4)
        self.rnn = nn.GRU(4, 6, batch_first=True)
        self.head = nn.Linear(6, 8)

    def forward(self, ids):
        return self.head(self.rnn(self.embed(ids))[0])


def build_whole_sequence():
    return WholeSequence()


def build_bidirectional():
    model = WholeSequence()
    model.rnn = nn.GRU(4, 3, batch_first=True, bidirectional=True)
    return model


def build_nan():
    model = NormedLSTM().eval()
    with torch.no_grad():
        model.head.bias[2] = float("inf")
    return model


class CharLSTM(nn.Module):
    """The char-level LSTM of countless blog posts: embedding -> batch_first LSTM -> fc."""

    def __init__(self, n=8, embed=5, hidden=9, layers=2):
        super().__init__()
        self.embedding = nn.Embedding(n, embed)
        self.lstm = nn.LSTM(embed, hidden, layers, batch_first=True,
                            dropout=0.2 if layers > 1 else 0.0)
        self.fc = nn.Linear(hidden, n)

    def forward(self, ids, hidden=None):
        out, hidden = self.lstm(self.embedding(ids), hidden)
        return self.fc(out), hidden


class Seq2SeqEncoder(nn.Module):
    """bentrevett/pytorch-seq2seq tutorial 1: embedding -> dropout -> multi-layer LSTM."""

    def __init__(self, input_dim=7, emb_dim=5, hid_dim=8, n_layers=2, dropout=0.5):
        super().__init__()
        self.embedding = nn.Embedding(input_dim, emb_dim)
        self.rnn = nn.LSTM(emb_dim, hid_dim, n_layers, dropout=dropout)
        self.dropout = nn.Dropout(dropout)

    def forward(self, src):
        _, (hidden, cell) = self.rnn(self.dropout(self.embedding(src)))
        return hidden, cell


class Seq2SeqDecoder(nn.Module):
    """The same tutorial's decoder, one token per call: embedding -> LSTM -> fc_out."""

    def __init__(self, output_dim=10, emb_dim=5, hid_dim=8, n_layers=2, dropout=0.5):
        super().__init__()
        self.embedding = nn.Embedding(output_dim, emb_dim)
        self.rnn = nn.LSTM(emb_dim, hid_dim, n_layers, dropout=dropout)
        self.fc_out = nn.Linear(hid_dim, output_dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, input, hidden, cell):
        embedded = self.dropout(self.embedding(input.unsqueeze(0)))
        output, (hidden, cell) = self.rnn(embedded, (hidden, cell))
        return self.fc_out(output.squeeze(0)), hidden, cell


class TutorialSeq2Seq(nn.Module):
    """The tutorial's wrapper, saved with torch.save(model.state_dict(), 'tut1-model.pt')."""

    def __init__(self):
        super().__init__()
        self.encoder = Seq2SeqEncoder()
        self.decoder = Seq2SeqDecoder()

    @torch.no_grad()
    def greedy(self, src_ids, bos=0, eos=1, max_len=60):
        """Greedy decoding as the tutorial's translate_sentence: (tokens, logits per step)."""
        hidden, cell = self.encoder(torch.tensor(src_ids)[:, None])
        token, tokens, logits = torch.tensor([bos]), [], []
        for _ in range(max_len):
            out, hidden, cell = self.decoder(token, hidden, cell)
            logits.append(out[0])
            token = out.argmax(-1)
            if int(token) == eos:
                break
            tokens.append(int(token))
        return tokens, torch.stack(logits)


def build_half():
    return build_normed().half()

"""Recurrent models written the way the PyTorch tutorials, pytorch/examples and course notebooks
write them (our own code, in their style), with the factories a user would write for them."""

import torch
import torch.nn.functional as F
from torch import nn

LETTERS = "abcdefgh"
WORDS = ["<unk>", "<eos>", "the", "cat", "sat", "on", "mat", "a", "dog", "ran", "."]
TAGS = ["DET", "NN", "V", "P", "PUNCT"]


class RescaledGRU(nn.Module):
    """A forward that changes the hidden it returns (here: halves it)."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(len(LETTERS), 5)
        self.gru = nn.GRU(5, 7, batch_first=True)
        self.head = nn.Linear(7, len(LETTERS))

    def forward(self, x_t, hidden):
        out, hidden = self.gru(self.embed(x_t), hidden)
        return self.head(out), hidden * 0.5


def build_rescaled():
    torch.manual_seed(21)
    return RescaledGRU().eval()


class TutorialRNN(nn.Module):
    """The char-RNN classification tutorial's hand-written cell: i2h / h2o on cat(input, hidden),
    LogSoftmax head, initHidden(); fed one-hot (1, n_letters) rows; outputs are categories."""

    def __init__(self, input_size, hidden_size, output_size):
        super().__init__()
        self.hidden_size = hidden_size
        self.i2h = nn.Linear(input_size + hidden_size, hidden_size)
        self.h2o = nn.Linear(hidden_size, output_size)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, input, hidden):
        hidden = torch.tanh(self.i2h(torch.cat((input, hidden), 1)))
        return self.softmax(self.h2o(hidden)), hidden

    def initHidden(self):
        return torch.zeros(1, self.hidden_size)


def build_tutorial_rnn():
    torch.manual_seed(22)
    return TutorialRNN(len(LETTERS), 6, 3).eval()


class NameGenerator(nn.Module):
    """The name-generation tutorial's cell: forward(category, input, hidden), dropout, LogSoftmax
    over the letters plus an end marker."""

    def __init__(self, n_categories, input_size, hidden_size, output_size):
        super().__init__()
        self.hidden_size = hidden_size
        self.i2h = nn.Linear(n_categories + input_size + hidden_size, hidden_size)
        self.i2o = nn.Linear(n_categories + input_size + hidden_size, output_size)
        self.o2o = nn.Linear(hidden_size + output_size, output_size)
        self.dropout = nn.Dropout(0.1)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, category, input, hidden):
        combined = torch.cat((category, input, hidden), 1)
        hidden = self.i2h(combined)
        output = self.o2o(torch.cat((hidden, self.i2o(combined)), 1))
        return self.softmax(self.dropout(output)), hidden

    def initHidden(self):
        return torch.zeros(1, self.hidden_size)


class ForCategory(nn.Module):
    """What the README says to write: the session's category bound once, forward(x_t, hidden)."""

    def __init__(self, model, category):
        super().__init__()
        self.model, self.category = model, category

    def forward(self, x_t, hidden):
        return self.model(self.category, x_t, hidden)

    def initHidden(self):
        return self.model.initHidden()


def build_name_generator(category=1):
    torch.manual_seed(23)
    model = NameGenerator(3, len(LETTERS), 6, len(LETTERS))  # the trained one, in train mode
    return ForCategory(model, F.one_hot(torch.tensor([category]), 3).float())


class Sequence(nn.Module):
    """pytorch/examples time_sequence_prediction: two stacked LSTMCells and a Linear, one step
    per call here (the example loops inside its forward), real-valued input and output."""

    def __init__(self):
        super().__init__()
        self.lstm1 = nn.LSTMCell(1, 9)
        self.lstm2 = nn.LSTMCell(9, 9)
        self.linear = nn.Linear(9, 1)

    def forward(self, x_t, hidden):
        (h1, c1), (h2, c2) = hidden if hidden is not None else ((None, None), (None, None))
        h1, c1 = self.lstm1(x_t, None if h1 is None else (h1, c1))
        h2, c2 = self.lstm2(h1, None if h2 is None else (h2, c2))
        return self.linear(h2), ((h1, c1), (h2, c2))


def build_sequence():
    torch.manual_seed(24)
    return Sequence().double()  # the example trains in double precision


class RNNModel(nn.Module):
    """pytorch/examples word_language_model: encoder / rnn / decoder, log_softmax, init_hidden."""

    def __init__(self, ntoken=11, ninp=8, nhid=8, nlayers=2):
        super().__init__()
        self.nlayers, self.nhid = nlayers, nhid
        self.drop = nn.Dropout(0.2)
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = nn.LSTM(ninp, nhid, nlayers, dropout=0.2)
        self.decoder = nn.Linear(nhid, ntoken)

    def forward(self, input, hidden):
        emb = self.drop(self.encoder(input))
        output, hidden = self.rnn(emb, hidden)
        decoded = self.decoder(self.drop(output)).view(-1, self.decoder.out_features)
        return F.log_softmax(decoded, dim=1), hidden

    def init_hidden(self, bsz):
        weight = next(self.parameters())
        return (weight.new_zeros(self.nlayers, bsz, self.nhid),
                weight.new_zeros(self.nlayers, bsz, self.nhid))


def build_word_lm():
    torch.manual_seed(25)
    return RNNModel().eval()


class LSTMTagger(nn.Module):
    """The sequence-models tutorial's tagger (embeddings -> LSTM -> hidden2tag, log_softmax),
    with the one-step forward a user adds to inspect it."""

    def __init__(self, embedding_dim=6, hidden_dim=7, vocab_size=11,
                 tagset_size=5):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_dim)
        self.hidden2tag = nn.Linear(hidden_dim, tagset_size)

    def forward(self, sentence, hidden=None):
        embeds = self.word_embeddings(sentence).view(len(sentence), 1, -1)
        lstm_out, hidden = self.lstm(embeds, hidden)
        tag_space = self.hidden2tag(lstm_out.view(len(sentence), -1))
        return F.log_softmax(tag_space, dim=1), hidden


def build_tagger():
    torch.manual_seed(26)
    return LSTMTagger().eval()


MAX_LENGTH = 10
SOURCE = ["SOS", "EOS", *LETTERS]
TARGET = ["SOS", "EOS", *LETTERS.upper()]


class EncoderRNN(nn.Module):
    """The (classic) translation tutorial's encoder: embedding -> GRU, initHidden()."""

    def __init__(self, input_size=10, hidden_size=8):
        super().__init__()
        self.hidden_size = hidden_size
        self.embedding = nn.Embedding(input_size, hidden_size)
        self.gru = nn.GRU(hidden_size, hidden_size)

    def forward(self, input, hidden):
        embedded = self.embedding(input).view(1, 1, -1)
        return self.gru(embedded, hidden)

    def initHidden(self):
        return torch.zeros(1, 1, self.hidden_size)


class AttnDecoderRNN(nn.Module):
    """The tutorial's attention decoder: forward(input, hidden, encoder_outputs) with the
    encoder outputs padded to MAX_LENGTH, returning (log-probs, hidden, attention weights)."""

    def __init__(self, hidden_size=8, output_size=10, max_length=MAX_LENGTH):
        super().__init__()
        self.embedding = nn.Embedding(output_size, hidden_size)
        self.attn = nn.Linear(hidden_size * 2, max_length)
        self.attn_combine = nn.Linear(hidden_size * 2, hidden_size)
        self.dropout = nn.Dropout(0.1)
        self.gru = nn.GRU(hidden_size, hidden_size)
        self.out = nn.Linear(hidden_size, output_size)

    def forward(self, input, hidden, encoder_outputs):
        embedded = self.dropout(self.embedding(input).view(1, 1, -1))
        attn_weights = F.softmax(self.attn(torch.cat((embedded[0], hidden[0]), 1)), dim=1)
        attn_applied = torch.bmm(attn_weights.unsqueeze(0), encoder_outputs.unsqueeze(0))
        output = F.relu(self.attn_combine(torch.cat((embedded[0], attn_applied[0]), 1)))
        output, hidden = self.gru(output.unsqueeze(0), hidden)
        return F.log_softmax(self.out(output[0]), dim=1), hidden, attn_weights


class Padded(nn.Module):
    """The factory's wrapper: the inspector gives (T_src, H); the tutorial wants MAX_LENGTH rows."""

    def __init__(self, decoder):
        super().__init__()
        self.decoder = decoder

    def forward(self, x_t, hidden, encoder_outputs):
        padded = torch.zeros(MAX_LENGTH, encoder_outputs.shape[1])
        padded[:len(encoder_outputs)] = encoder_outputs
        out, hidden, weights = self.decoder(x_t, hidden, padded)
        return out, hidden, weights[:, :len(encoder_outputs)]


def tutorial_pair():
    torch.manual_seed(27)
    return EncoderRNN().eval(), AttnDecoderRNN().eval()


def build_attention():
    encoder, decoder = tutorial_pair()
    return encoder, Padded(decoder)


@torch.no_grad()
def tutorial_evaluate(encoder, decoder, source_ids, max_length=MAX_LENGTH):
    """The tutorial's evaluate(): EOS appended to the input, greedy decode from SOS.
    Returns (decoded ids, log-prob rows, attention rows)."""
    ids = torch.tensor([*source_ids, SOURCE.index("EOS")])[:, None]
    hidden = encoder.initHidden()
    encoder_outputs = torch.zeros(max_length, encoder.hidden_size)
    for ei in range(len(ids)):
        out, hidden = encoder(ids[ei], hidden)
        encoder_outputs[ei] = out[0, 0]
    token, decoded, rows, attention = torch.tensor([[0]]), [], [], []
    for _ in range(max_length):
        out, hidden, weights = decoder(token, hidden, encoder_outputs)
        rows.append(out[0])
        attention.append(weights[0, :len(ids)])
        top = int(out.argmax())
        if top == TARGET.index("EOS"):
            break
        decoded.append(top)
        token = torch.tensor([[top]])
    return decoded, torch.stack(rows), torch.stack(attention)



class CellStackLM(nn.Module):
    """A character LM from hand-stacked cells (nn.LSTMCell / GRUCell / RNNCell), as the
    time-sequence example stacks them, saved with torch.save(model.state_dict(), PATH)."""

    def __init__(self, cell=nn.LSTMCell, vocab_size=8, embed=5, hidden=6):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed)
        self.cell1 = cell(embed, hidden)
        self.cell2 = cell(hidden, hidden)
        self.fc = nn.Linear(hidden, vocab_size)

    def forward(self, x_t, hidden=None):
        first, second = hidden if hidden is not None else (None, None)
        x = self.embedding(x_t).view(1, -1)
        first = self.cell1(x, first)
        second = self.cell2(first[0] if isinstance(first, tuple) else first, second)
        top = second[0] if isinstance(second, tuple) else second
        return self.fc(top), (first, second)


def build_cell_stack(cell=nn.LSTMCell):
    torch.manual_seed(29)
    return CellStackLM(cell).eval()


class InputFeedingDecoder(nn.Module):
    """OpenNMT-style input feeding: the cell takes the embedding and the previous output."""

    def __init__(self, vocab_size=8, embed=5, hidden=6):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed)
        self.cell = nn.LSTMCell(embed + hidden, hidden)
        self.out = nn.Linear(hidden, vocab_size)


class BiTagger(nn.Module):
    """A bidirectional LSTM tagger (the tutorial's tagger with bidirectional=True), forward over
    a whole sentence (T,) of word ids -> (T, tags) log-probabilities."""

    def __init__(self, embedding_dim=6, hidden_dim=5, vocab_size=11,
                 tagset_size=5, layers=1, cell=nn.LSTM):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = cell(embedding_dim, hidden_dim, num_layers=layers, bidirectional=True)
        self.hidden2tag = nn.Linear(2 * hidden_dim, tagset_size)

    def forward(self, sentence):
        embeds = self.word_embeddings(sentence)
        lstm_out, _ = self.lstm(embeds.view(len(sentence), 1, -1))
        tag_space = self.hidden2tag(lstm_out.view(len(sentence), -1))
        return F.log_softmax(tag_space, dim=1)


def build_bi_tagger(layers=1, cell=nn.LSTM):
    torch.manual_seed(30)
    return BiTagger(layers=layers, cell=cell).eval()


def build_bi_tagger_gru():
    return build_bi_tagger(layers=2, cell=nn.GRU)


class BiEncoder(nn.Module):
    """The attention-seq2seq notebooks' encoder: embedding -> bidirectional GRU over the whole
    source (src_len, batch); the decoder's first hidden is tanh(fc([forward; backward])) of
    the last layer's final states."""

    def __init__(self, input_dim=10, emb_dim=6, enc_hid_dim=5, dec_hid_dim=7):
        super().__init__()
        self.embedding = nn.Embedding(input_dim, emb_dim)
        self.rnn = nn.GRU(emb_dim, enc_hid_dim, bidirectional=True)
        self.fc = nn.Linear(enc_hid_dim * 2, dec_hid_dim)

    def forward(self, src):
        outputs, hidden = self.rnn(self.embedding(src))
        hidden = torch.tanh(self.fc(torch.cat((hidden[-2, :, :], hidden[-1, :, :]), dim=1)))
        return outputs, hidden


class Attention(nn.Module):
    def __init__(self, enc_hid_dim=5, dec_hid_dim=7):
        super().__init__()
        self.attn = nn.Linear(enc_hid_dim * 2 + dec_hid_dim, dec_hid_dim)
        self.v = nn.Linear(dec_hid_dim, 1, bias=False)

    def forward(self, hidden, encoder_outputs):
        src_len = encoder_outputs.shape[0]
        hidden = hidden.unsqueeze(1).repeat(1, src_len, 1)
        encoder_outputs = encoder_outputs.permute(1, 0, 2)
        energy = torch.tanh(self.attn(torch.cat((hidden, encoder_outputs), dim=2)))
        return F.softmax(self.v(energy).squeeze(2), dim=1)


class BiAttnDecoder(nn.Module):
    """The notebooks' decoder: forward(input (batch,), hidden (batch, dec_hid), encoder_outputs
    (src_len, batch, 2 enc_hid)) -> (prediction, hidden, attention)."""

    def __init__(self, output_dim=10, emb_dim=6, enc_hid_dim=5, dec_hid_dim=7):
        super().__init__()
        self.attention = Attention(enc_hid_dim, dec_hid_dim)
        self.embedding = nn.Embedding(output_dim, emb_dim)
        self.rnn = nn.GRU(enc_hid_dim * 2 + emb_dim, dec_hid_dim)
        self.fc_out = nn.Linear(enc_hid_dim * 2 + dec_hid_dim + emb_dim, output_dim)

    def forward(self, input, hidden, encoder_outputs):
        embedded = self.embedding(input.unsqueeze(0))
        a = self.attention(hidden, encoder_outputs).unsqueeze(1)
        weighted = torch.bmm(a, encoder_outputs.permute(1, 0, 2)).permute(1, 0, 2)
        output, hidden = self.rnn(torch.cat((embedded, weighted), dim=2), hidden.unsqueeze(0))
        embedded, output, weighted = embedded.squeeze(0), output.squeeze(0), weighted.squeeze(0)
        prediction = self.fc_out(torch.cat((output, weighted, embedded), dim=1))
        return prediction, hidden.squeeze(0), a.squeeze(1)


class OneStep(nn.Module):
    """The factory's wrapper: the inspector gives x_t (1, 1) and the outputs as (T_src, D)."""

    def __init__(self, decoder):
        super().__init__()
        self.decoder = decoder

    def forward(self, x_t, hidden, encoder_outputs):
        return self.decoder(x_t.view(1), hidden, encoder_outputs.unsqueeze(1))


def bi_pair():
    torch.manual_seed(34)
    return BiEncoder().eval(), BiAttnDecoder().eval()


def build_bi_attention():
    encoder, decoder = bi_pair()
    return encoder, OneStep(decoder)


@torch.no_grad()
def bi_translate(encoder, decoder, source_ids, max_len=12):
    """The notebooks' translate_sentence(): EOS appended, greedy from SOS. Returns the
    encoder outputs, its hidden, and per decoder step (logits, hidden, attention)."""
    src = torch.tensor([*source_ids, SOURCE.index("EOS")])[:, None]
    outputs, hidden = encoder(src)
    first, steps, token = hidden, [], 0
    for _ in range(max_len):
        out, hidden, a = decoder(torch.tensor([token]), hidden, outputs)
        steps.append((out[0], hidden[0], a[0]))
        token = int(out.argmax())
        if token == TARGET.index("EOS"):
            break
    return outputs[:, 0], first, steps


class PlainDecoder(nn.Module):
    """A decoder without attention: embedding -> GRU/LSTM -> fc_out, one token per call."""

    def __init__(self, output_dim=10, emb_dim=6, hid_dim=7, cell=nn.GRU, layers=1):
        super().__init__()
        self.embedding = nn.Embedding(output_dim, emb_dim)
        self.rnn = cell(emb_dim, hid_dim, layers)
        self.fc_out = nn.Linear(hid_dim, output_dim)

    def forward(self, input, hidden):
        output, hidden = self.rnn(self.embedding(input).view(1, 1, -1), hidden)
        return self.fc_out(output[0]), hidden


class ConcatEncoder(nn.Module):
    """A bidirectional LSTM encoder whose final states are joined direction by direction for a
    decoder twice as wide: hidden[0::2] | hidden[1::2]."""

    def __init__(self, input_dim=10, emb_dim=6, hid_dim=4, layers=2):
        super().__init__()
        self.embedding = nn.Embedding(input_dim, emb_dim)
        self.rnn = nn.LSTM(emb_dim, hid_dim, layers, bidirectional=True)

    def forward(self, src):
        outputs, (h, c) = self.rnn(self.embedding(src))
        return outputs, (torch.cat((h[0::2], h[1::2]), 2), torch.cat((c[0::2], c[1::2]), 2))


def concat_pair():
    torch.manual_seed(35)
    return ConcatEncoder().eval(), PlainDecoder(hid_dim=8, cell=nn.LSTM, layers=2).eval()


def bridge_pair():
    torch.manual_seed(36)
    return BiEncoder().eval(), PlainDecoder().eval()


@torch.no_grad()
def greedy(encoder, decoder, source_ids, max_len=64, squeeze=False):
    """Encode the source with EOS appended, decode greedily from SOS; per step (logits, h)."""
    outputs, hidden = encoder(torch.tensor([*source_ids, SOURCE.index("EOS")])[:, None])
    if squeeze:  # the bridge's (batch, dec_hid) as the GRU's (1, batch, dec_hid)
        hidden = hidden[None]
    first, steps, token = hidden, [], 0
    for _ in range(max_len):
        out, hidden = decoder(torch.tensor([[token]]), hidden)
        steps.append((out[0], hidden))
        token = int(out.argmax())
        if token == TARGET.index("EOS"):
            break
    return outputs[:, 0], first, steps


class SoftmaxHead(nn.Module):
    """A char model whose forward ends in nn.Softmax (probabilities, rows summing to 1)."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(len(LETTERS), 4)
        self.rnn = nn.RNN(4, 5, batch_first=True)
        self.out = nn.Sequential(nn.Linear(5, len(LETTERS)), nn.Softmax(dim=-1))

    def forward(self, x_t, hidden):
        output, hidden = self.rnn(self.embed(x_t), hidden)
        return self.out(output[:, -1]), hidden


def build_softmax_head():
    torch.manual_seed(37)
    return SoftmaxHead().eval()

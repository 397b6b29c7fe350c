"""The reference models, written once against the shared ember.nn / torch.nn API."""

from ember.models import lenet5, mlp  # noqa: F401


def lstm_classifier(nn, vocab=50, classes=4):
    class LSTMClassifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(vocab, 16, padding_idx=0)
            self.lstm = nn.LSTM(16, 32, batch_first=True)
            self.head = nn.Linear(32, classes)

        def forward(self, tokens):
            _, (h, _) = self.lstm(self.embed(tokens))
            return self.head(h[-1])

    return LSTMClassifier()


def transformer_classifier(nn, vocab=50, classes=4, d_model=32):
    class TransformerClassifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(vocab, d_model)
            layer = nn.TransformerEncoderLayer(d_model, 4, 64, dropout=0.0, batch_first=True)
            kwargs = {"enable_nested_tensor": False} if nn.__name__.startswith("torch") else {}
            self.encoder = nn.TransformerEncoder(layer, 2, **kwargs)
            self.head = nn.Linear(d_model, classes)

        def forward(self, tokens):
            return self.head(self.encoder(self.embed(tokens)).mean(1))

    return TransformerClassifier()

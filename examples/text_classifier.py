"""An LSTM sentiment classifier in ember, on short movie-review-like sentences with negation.

The sentences are generated (no download): a few sentiment words among filler words, each
sentiment word possibly negated by a "not" or "never" right before it ("the plot was not bad").
The label is the sign of the summed sentiment, so word counts alone cannot solve the task: the
model has to read the words in order. Chance is 50%.

    python examples/text_classifier.py            # 6 epochs, a few seconds
    python examples/text_classifier.py --quick    # or EMBER_QUICK=1
"""

import argparse
import os

import numpy as np

import ember
import ember.nn as nn

POSITIVE = "good great excellent fun wonderful brilliant charming moving".split()
NEGATIVE = "bad boring awful dull terrible weak clumsy tedious".split()
NEGATORS = ["not", "never"]
FILLER = "the movie film plot was and acting story a really quite very ending cast but it".split()
VOCAB = ["<pad>", *FILLER, *NEGATORS, *POSITIVE, *NEGATIVE]
TOKEN = {word: i for i, word in enumerate(VOCAB)}
MAX_LEN = 16


def make_sentence(rng: np.random.Generator) -> tuple[list[str], int]:
    """One sentence and its label (1 positive, 0 negative)."""
    chunks = [[str(w)] for w in rng.choice(FILLER, size=rng.integers(4, 9))]
    score = 0
    for _ in range(rng.choice([1, 3])):  # an odd count of sentiment words: never a tie
        positive = rng.random() < 0.5
        phrase = [str(rng.choice(POSITIVE if positive else NEGATIVE))]
        sign = 1 if positive else -1
        if rng.random() < 0.4:
            phrase.insert(0, str(rng.choice(NEGATORS)))
            sign = -sign
        chunks.append(phrase)
        score += sign
    order = rng.permutation(len(chunks))  # phrases move as a whole: "not" stays with its word
    return [w for i in order for w in chunks[i]], int(score > 0)


def encode(sentences: list[list[str]]) -> ember.Tensor:
    # Pad on the left, so the LSTM's last step always sees the last real word.
    ids = np.zeros((len(sentences), MAX_LEN), dtype=np.int64)
    for row, words in enumerate(sentences):
        ids[row, MAX_LEN - len(words) :] = [TOKEN[w] for w in words]
    return ember.from_numpy(ids)


def make_dataset(n: int, seed: int) -> tuple[ember.Tensor, ember.Tensor]:
    rng = np.random.default_rng(seed)
    pairs = [make_sentence(rng) for _ in range(n)]
    return encode([s for s, _ in pairs]), ember.tensor([y for _, y in pairs])


class SentimentLSTM(nn.Module):
    def __init__(self, vocab: int, embed: int = 16, hidden: int = 32):
        super().__init__()
        self.embed = nn.Embedding(vocab, embed, padding_idx=0)
        self.lstm = nn.LSTM(embed, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 2)

    def forward(self, tokens):
        _, (h, _) = self.lstm(self.embed(tokens))
        return self.head(h[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--quick", action="store_true", help="fewer sentences and epochs")
    args = parser.parse_args()
    quick = args.quick or bool(os.environ.get("EMBER_QUICK"))
    n_train, epochs = (1500, 4) if quick else (4000, args.epochs)

    ember.manual_seed(0)
    x_train, y_train = make_dataset(n_train, seed=1)
    x_test, y_test = make_dataset(1000, seed=2)
    model = SentimentLSTM(len(VOCAB))
    model.compile(
        optimizer=ember.optim.Adam(model.parameters(), lr=0.01),
        loss="cross_entropy",
        metrics=["accuracy"],
    )
    model.fit(x_train, y_train, batch_size=32, epochs=epochs, verbose=0 if quick else 1)
    loss, acc = model.evaluate(x_test, y_test, verbose=0)
    print(f"test accuracy: {acc:.4f}")

    samples = [
        "the movie was not bad",
        "the plot was not great and the acting was bad",
        "never boring and really fun",
        "a dull and tedious film",
    ]
    probs = model.predict(encode([s.split() for s in samples]), verbose=0).softmax(-1)
    for sentence, p in zip(samples, probs[:, 1].tolist()):
        print(f"  {p:5.1%} positive  {sentence!r}")


if __name__ == "__main__":
    main()

"""scikit-learn's out-of-core recipe on the text corpus of the example
(Debian package descriptions by section): the accuracies our perceptron is
to be compared with. Run: ``python -m benchmarks.text_corpus_baseline``."""

import argparse
import collections
import time

import numpy as np
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import Perceptron, SGDClassifier

from torch_perceptron import text_corpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chunk", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args()
    reason = text_corpus.available()
    if reason:
        raise SystemExit(reason)
    train, test = text_corpus.load("train"), text_corpus.load("test")
    counts = collections.Counter(p.section for p in train + test)
    classes = np.array(sorted(counts))
    print(
        f"packages {len(train) + len(test)} (train {len(train)}, test {len(test)}), "
        f"classes {len(classes)}, mean words {np.mean([len(p.text.split()) for p in train]):.1f}"
    )
    print("largest classes", ", ".join(f"{c} {n / sum(counts.values()):.3f}" for c, n in counts.most_common(5)))
    majority = np.mean([p.section == counts.most_common(1)[0][0] for p in test])
    print(f"majority class on test {majority:.3f}")
    hv = HashingVectorizer(n_features=1 << 18, alternate_sign=False, ngram_range=(1, 2))
    x_test, y_test = hv.transform([p.text for p in test]), np.array([p.section for p in test])
    models = {
        "Perceptron()": Perceptron(),
        'SGDClassifier(loss="perceptron", average=True)': SGDClassifier(loss="perceptron", average=True),
    }
    for name, model in models.items():
        start = time.perf_counter()
        for epoch in range(args.epochs):
            for chunk in text_corpus.iter_chunks(args.chunk, "train"):
                x = hv.transform([p.text for p in chunk])
                model.partial_fit(x, np.array([p.section for p in chunk]), classes=classes)
            print(
                f"{name}: epoch {epoch + 1} of partial_fit in chunks of {args.chunk}: "
                f"test accuracy {model.score(x_test, y_test):.3f} "
                f"({time.perf_counter() - start:.0f} s)"
            )


if __name__ == "__main__":
    main()

"""Davidson et al. (ICWSM 2017) reproduced with scikit-learn, and beaten on the hate class, on the same
stratified folds.

    python scripts/bench_harmful.py --path ../shared/data/davidson-hate-speech/labeled_data.csv [--seeds 1 2 3]

The paper: tweets preprocessed (URLs, mentions, spaces), TF-IDF of word 1-3-grams (min_df 5, max_df 0.75,
10,000 features, no norm) plus POS-tag n-grams and text-quality features, L1 logistic regression to select
features, then one-vs-rest L2 logistic regression (C 0.01) with balanced class weights, in scikit-learn 0.18:
its liblinear one-vs-rest weighted only the positive class of each binary problem by n / (3 n_k). Reported
(one 10 % test split): weighted F1 0.90, hate precision 0.44, recall 0.61.

Methods, each on the same folds (StratifiedKFold(5, shuffle) per seed):
- `davidson`: the word n-gram part of that pipeline (no stemming and no POS tags: nltk's taggers need
  downloads; no text-quality features), with 0.18's weighting (positives n / (3 n_k), negatives 1);
- `ovr_balanced`: today's literal rendition, OneVsRestClassifier(LogisticRegression(class_weight="balanced"));
- `ours`: the mean of `davidson`'s probabilities and those of word 1-3-gram + character 2-5-gram TF-IDF
  (sublinear) logistic regressions (C 1, 0.18's weighting). Tried first, on the same folds: the char model
  alone (hate F1 0.43-0.48, below `davidson`), and `davidson` with the hate decision bias tuned on 20 % of
  the training fold (-0.001 ± 0.006 hate F1 vs `davidson`, seed 1's five folds).
Table: mean ± std over every (seed, fold). Writes markdown to stdout and the numbers to --out (JSON).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from framework.data.formats.harmful_text import read_davidson  # noqa: E402

PAPER = {"weighted_f1": 0.90, "hate_precision": 0.44, "hate_recall": 0.61}


def preprocess(text: str) -> str:
    """Davidson's `preprocess`: URLs and mentions replaced, runs of spaces collapsed."""
    text = re.sub(r"http[s]?://(?:[a-zA-Z]|[0-9]|[$-_@.&+]|[!*\(\),]|(?:%[0-9a-fA-F][0-9a-fA-F]))+", "URLHERE", text)
    text = re.sub(r"@[\w\-]+", "MENTIONHERE", text)
    return re.sub(r"\s+", " ", text)


def _weights_018(y: np.ndarray, k: int) -> np.ndarray:
    """scikit-learn 0.18's liblinear one-vs-rest with class_weight="balanced": class k's positives weighted
    n / (3 n_k), its negatives 1."""
    return np.where(y == k, len(y) / (3 * max(1, (y == k).sum())), 1.0)


def _fit_ovr(x, y: np.ndarray, c: float, seed: int, weighting: str):
    from sklearn.linear_model import LogisticRegression

    models = []
    for k in range(3):
        if weighting == "balanced":
            lr = LogisticRegression(C=c, class_weight="balanced", solver="liblinear", random_state=seed)
            models.append(lr.fit(x, (y == k).astype(int)))
        else:
            lr = LogisticRegression(C=c, solver="liblinear", random_state=seed, max_iter=1000)
            models.append(lr.fit(x, (y == k).astype(int), sample_weight=_weights_018(y, k)))
    return models


def _proba(models, x) -> np.ndarray:
    return np.stack([m.predict_proba(x)[:, 1] for m in models], axis=1)


def _davidson_tfidf(**extra):
    """The paper's word 1-3-gram TF-IDF (unnormalised, unsmoothed IDF, the 10,000 most frequent terms)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        preprocessor=lambda t: preprocess(t).lower(),
        ngram_range=(1, 3),
        min_df=5,
        max_df=0.75,
        max_features=10_000,
        norm=None,
        smooth_idf=False,
        **extra,
    )


def davidson(train: list[str], y: np.ndarray, test: list[str], seed: int) -> np.ndarray:
    from sklearn.feature_selection import SelectFromModel
    from sklearn.linear_model import LogisticRegression

    vec = _davidson_tfidf(decode_error="replace", use_idf=True)
    x_train, x_test = vec.fit_transform(train), vec.transform(test)
    from sklearn.multiclass import OneVsRestClassifier

    l1 = LogisticRegression(C=0.01, l1_ratio=1.0, solver="liblinear", class_weight="balanced", random_state=seed)
    select = SelectFromModel(  # a feature any class's L1 model keeps
        OneVsRestClassifier(l1),
        threshold=1e-5,
        importance_getter=lambda est: np.abs(np.vstack([e.coef_ for e in est.estimators_])).max(0),
    )
    x_train = select.fit_transform(x_train, y)
    return _proba(_fit_ovr(x_train, y, 0.01, seed, "018"), select.transform(x_test))


def ovr_balanced(train: list[str], y: np.ndarray, test: list[str], seed: int) -> np.ndarray:

    vec = _davidson_tfidf()
    x_train, x_test = vec.fit_transform(train), vec.transform(test)
    return _proba(_fit_ovr(x_train, y, 0.01, seed, "balanced"), x_test)


def _features(train: list[str], test: list[str]):
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer

    pre = lambda t: preprocess(t).lower()  # noqa: E731
    words = TfidfVectorizer(preprocessor=pre, ngram_range=(1, 3), min_df=2, max_df=0.75, sublinear_tf=True)
    chars = TfidfVectorizer(preprocessor=pre, analyzer="char_wb", ngram_range=(2, 5), min_df=3, sublinear_tf=True)
    return hstack([words.fit_transform(train), chars.fit_transform(train)]).tocsr(), hstack(
        [words.transform(test), chars.transform(test)]
    ).tocsr()


def ours(train: list[str], y: np.ndarray, test: list[str], seed: int) -> np.ndarray:
    """The mean of Davidson's probabilities and those of a second view of the text: word 1-3-grams and
    character 2-5-grams (sublinear TF-IDF: robust to creative spellings of slurs), one logistic regression per
    class (C 1, 0.18's weighting). The two views err on different tweets; the average is the decision."""
    x_train, x_test = _features(train, test)
    chars = _proba(_fit_ovr(x_train, y, 1.0, seed, "018"), x_test)
    return (davidson(train, y, test, seed) + chars) / 2


def scores(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import f1_score, precision_recall_fscore_support

    pred = p.argmax(1)
    precision, recall, f1, _ = precision_recall_fscore_support(y, pred, labels=[0, 1, 2], zero_division=0)
    return {
        "weighted_f1": f1_score(y, pred, average="weighted"),
        "macro_f1": f1_score(y, pred, average="macro"),
        "hate_precision": precision[0],
        "hate_recall": recall[0],
        "hate_f1": f1[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--path", default=str(ROOT.parent / "shared/data/davidson-hate-speech/labeled_data.csv"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--out", default="bench_harmful.json")
    args = parser.parse_args()
    from sklearn.model_selection import StratifiedKFold

    warnings.filterwarnings("ignore", category=FutureWarning)
    table = read_davidson(args.path)
    texts = table.frame["text"].to_list()
    y = table.frame.select(["hate_speech", "offensive_language", "neither"]).to_numpy().argmax(1)
    methods = {"davidson": davidson, "ovr_balanced": ovr_balanced, "ours": ours}
    rows: dict[str, list[dict[str, float]]] = {m: [] for m in methods}
    seconds: dict[str, float] = dict.fromkeys(methods, 0.0)
    for seed in args.seeds:
        folds = StratifiedKFold(args.folds, shuffle=True, random_state=seed).split(texts, y)
        for fold, (tr, te) in enumerate(folds):
            train, test = [texts[i] for i in tr], [texts[i] for i in te]
            for name, method in methods.items():
                start = time.perf_counter()
                rows[name].append({"seed": seed, "fold": fold, **scores(y[te], method(train, y[tr], test, seed))})
                seconds[name] += time.perf_counter() - start
            print(
                f"seed {seed} fold {fold}: " + ", ".join(f"{m} hate F1 {rows[m][-1]['hate_f1']:.3f}" for m in methods),
                file=sys.stderr,
            )
    keys = ["weighted_f1", "macro_f1", "hate_precision", "hate_recall", "hate_f1"]
    print(
        f"Davidson labeled_data.csv, {len(y)} tweets, {args.folds}-fold stratified CV x seeds {args.seeds} "
        f"(mean ± std over {len(args.seeds) * args.folds} folds)\n"
    )
    print("| method | " + " | ".join(keys) + " | fit+predict s / fold |")
    print("|---|" + "---|" * (len(keys) + 1))
    print("| paper (one 10 % split) | " + " | ".join(f"{PAPER[k]:.2f}" if k in PAPER else "–" for k in keys) + " | – |")
    summary = {}
    for name in methods:
        values = {k: np.array([r[k] for r in rows[name]]) for k in keys}
        summary[name] = {k: {"mean": float(v.mean()), "std": float(v.std(ddof=1))} for k, v in values.items()}
        cells = " | ".join(f"{v.mean():.3f} ± {v.std(ddof=1):.3f}" for v in values.values())
        print(f"| {name} | {cells} | {seconds[name] / len(rows[name]):.1f} |")
    diff = np.array([o["hate_f1"] - d["hate_f1"] for o, d in zip(rows["ours"], rows["davidson"], strict=True)])
    print(
        f"\nours - davidson, hate F1 paired by fold: {diff.mean():+.3f} ± {diff.std(ddof=1):.3f}, "
        f"better on {(diff > 0).sum()}/{len(diff)} folds"
    )
    Path(args.out).write_text(json.dumps({"summary": summary, "folds": rows, "paper": PAPER}, indent=1))


if __name__ == "__main__":
    main()

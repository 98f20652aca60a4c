"""spaCy components, so nlpfind's tagging works inside a user's own pipeline.

    import spacy, nlpfind.spacy_components
    nlp = spacy.blank("en"); nlp.add_pipe("sentencizer")
    nlp.add_pipe("nlpfind_quantifiers")          # doc.spans["nlpfind_quantifiers"]
    nlp.add_pipe("nlpfind_findings")             # sent._.nlpfind_statement / _polarity / _themes

Quantifier spans carry `span.label_` (the term) and `span._.nlpfind_band` ((low, high) or None).
"""

from __future__ import annotations

from spacy.language import Language
from spacy.tokens import Doc, Span

from .config import load_framework
from .features import SentenceInput

SPAN_KEY = "nlpfind_quantifiers"

for _name, _default in (("nlpfind_band", None), ("nlpfind_statement", None), ("nlpfind_polarity", None),
                        ("nlpfind_themes", ()), ("nlpfind_scores", None)):
    if not Span.has_extension(_name):
        Span.set_extension(_name, default=_default)


class QuantifierComponent:
    """Sets doc.spans["nlpfind_quantifiers"]: one span per evaluative quantifier."""

    def __init__(self, nlp: Language, name: str, framework: str) -> None:
        from .quantify import QuantifierTagger

        self.tagger = QuantifierTagger(load_framework(framework))

    def __call__(self, doc: Doc) -> Doc:
        spans = []
        for start, end, term, low, high in self.tagger.find(doc.text):
            span = doc.char_span(start, end, label=term, alignment_mode="expand")
            if span is not None:
                span._.nlpfind_band = None if low is None else (low, high)
                spans.append(span)
        doc.spans[SPAN_KEY] = spans
        return doc


class FindingsComponent:
    """Classifies each sentence (needs sentence boundaries): statement, polarity, themes."""

    def __init__(self, nlp: Language, name: str, model: str | None) -> None:
        from .classify import Classifier

        self.classifier = Classifier(model)

    def __call__(self, doc: Doc) -> Doc:
        sents = list(doc.sents)
        if not sents:
            return doc
        quants = doc.spans[SPAN_KEY] if SPAN_KEY in doc.spans else []
        inputs = [SentenceInput(s.text, "", None, True,
                                tuple(q.label_ for q in quants if s.start <= q.start < s.end)) for s in sents]
        for sent, pred in zip(sents, self.classifier.model.classify(inputs)):
            sent._.nlpfind_statement = pred["statement"]
            sent._.nlpfind_polarity = pred["polarity"]
            sent._.nlpfind_themes = pred["themes"]
            sent._.nlpfind_scores = {"statement": pred["statement_scores"], "polarity": pred["polarity_scores"],
                                     "themes": pred["theme_scores"]}
        return doc


@Language.factory("nlpfind_quantifiers", default_config={"framework": "carh"})
def make_quantifiers(nlp: Language, name: str, framework: str) -> QuantifierComponent:
    return QuantifierComponent(nlp, name, framework)


@Language.factory("nlpfind_findings", default_config={"model": None})
def make_findings(nlp: Language, name: str, model: str | None) -> FindingsComponent:
    return FindingsComponent(nlp, name, model)

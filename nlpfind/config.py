"""Configuration files (configs/*.toml) loaded into validated, frozen dataclasses."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

from .errors import ConfigError, did_you_mean

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
POLARITIES = ("strength", "weakness", "mixed", "neutral")
MINILM_LAYERS = 6  # transformer layers of the packaged all-MiniLM-L6-v2, the encoder `nlpfind train` fine-tunes
NO_STATEMENT = "none"


@dataclass(frozen=True)
class Statement:
    id: str
    short: str
    title: str
    description: str
    heading: str


@dataclass(frozen=True)
class QuantifierTerm:
    term: str
    low: int | None
    high: int | None
    phrases: tuple[str, ...]


@dataclass(frozen=True)
class Grade:
    grade: str
    polarity: str


@dataclass(frozen=True)
class Theme:
    id: str
    name: str
    description: str
    #: words and phrases that name the theme ("chronolog", "IRD"), matched at the start of a word, any case: the
    #: theme head reads whether a sentence has one (rare themes have too few labelled sentences to learn them)
    terms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Framework:
    """Everything nlpfind needs to know about one inspection framework."""

    id: str
    name: str
    statements: tuple[Statement, ...]
    evaluation_scale: tuple[Grade, ...]
    quantifiers: tuple[QuantifierTerm, ...]
    themes: tuple[Theme, ...]
    strength_cues: tuple[str, ...] = ()
    weakness_cues: tuple[str, ...] = ()
    top_level_sections: tuple[str, ...] = ()
    not_finding_sections: tuple[str, ...] = ()
    strength_sections: tuple[str, ...] = ()
    weakness_sections: tuple[str, ...] = ()
    path: str = ""

    @property
    def statement_ids(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.statements)

    @property
    def statement_labels(self) -> tuple[str, ...]:
        return (*self.statement_ids, NO_STATEMENT)

    @property
    def theme_ids(self) -> tuple[str, ...]:
        return tuple(t.id for t in self.themes)

    @property
    def theme_terms(self) -> tuple[tuple[str, ...], ...]:
        """Each theme's terms, in theme order."""
        return tuple(t.terms for t in self.themes)

    def without_grades(self, section: tuple[str, ...]) -> str:
        """The section path as text, with grades stated in headings removed ("...protection: good").

        A heading's grade is the inspectors' verdict on the whole section: the sentence models must
        not read it, or a finding's polarity would echo the grade rather than its own words.
        """
        return _without_grades(tuple(g.grade for g in self.evaluation_scale), section)

    def section_polarity(self, section: tuple[str, ...]) -> str | None:
        """'strength' or 'weakness' when the innermost heading announces one ("Areas for improvement")."""
        return _section_polarity(self.weakness_sections, self.strength_sections, section)

    def statement_for_heading(self, heading: str) -> str | None:
        """The statement id whose heading pattern matches `heading`, if any.

        Reports vary how they head a statement's section, so two variants of the declared pattern are
        also accepted: the statement's number as a word ("Statement one") and the statement's title
        without its number ("Children and young people are safer because ..."). A numbered title ("1. Children
        ...") is a list item, as in the lists of the four statements that introductions give, and opens nothing.
        """
        heading = _NUMBER_WORD.sub(lambda m: m[1] + _NUMBER_WORDS[m[2].lower()], heading.strip())
        for st in self.statements:
            if _compiled((st.heading,))[0].search(heading):
                return st.id
        return _statement_by_title(tuple((st.id, st.title) for st in self.statements), heading)


_NUMBER_WORDS = {w: str(i) for i, w in enumerate(
    ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"))}
_NUMBER_WORD = re.compile(rf"^(\W*\w+\s+)({'|'.join(_NUMBER_WORDS)})\b", re.I)
_TITLE_STOPWORDS = frozenset(
    "a an and are as at be because by for from have has in into is it its of on or so that the their them they "
    "this to was we were which who with".split())
# A heading is taken for a title it does not name by its pattern only when it begins as the title does and
# its words are nearly all the title's: a subheading or a recommendation ("Partners should ensure children
# are safer") shares words with a title but does not open with it.
_TITLE_MIN_WORDS, _TITLE_RECALL, _TITLE_PRECISION = 5, 0.4, 0.8


def _title_words(text: str) -> tuple[str, ...]:
    words = re.findall(r"[a-z]+", text.lower().replace("’", "'").replace("'s", ""))
    return tuple(w[:-1] if len(w) > 3 and w.endswith("s") else w for w in words if w not in _TITLE_STOPWORDS)


@lru_cache(maxsize=4096)
def _statement_by_title(titles: tuple[tuple[str, str], ...], heading: str) -> str | None:
    """The statement whose title `heading` is, near enough (one best match or none)."""
    words = _title_words(heading)
    if len(set(words)) < _TITLE_MIN_WORDS:
        return None
    scored = []
    for sid, title in titles:
        title_words = _title_words(title)
        # it opens as the title does, a word may be left out: "Collaborative (strategic) leadership"
        if len(title_words) < 2 or words[0] != title_words[0] or words[1] not in title_words[:3]:
            continue
        shared = len(set(words) & set(title_words))
        if shared >= _TITLE_RECALL * len(set(title_words)) and shared >= _TITLE_PRECISION * len(set(words)):
            scored.append((shared, sid))
    scored.sort(reverse=True)
    if not scored or (len(scored) > 1 and scored[0][0] == scored[1][0]):
        return None
    return scored[0][1]


# Every sentence of a report asks these of its section path, and a report has few distinct
# paths: the compiled patterns and the answers are cached (they were a fifth of classify's time).
@lru_cache(maxsize=256)
def _compiled(patterns: tuple[str, ...]) -> tuple[re.Pattern, ...]:
    return tuple(re.compile(p, re.I) for p in patterns)


@lru_cache(maxsize=4096)
def _section_polarity(weakness: tuple[str, ...], strength: tuple[str, ...], section: tuple[str, ...]) -> str | None:
    weak, strong = _compiled(weakness), _compiled(strength)
    for head in reversed(section):
        head = head.strip()
        if any(p.search(head) for p in weak):
            return "weakness"
        if any(p.search(head) for p in strong):
            return "strength"
    return None


@lru_cache(maxsize=4096)
def _without_grades(grades: tuple[str, ...], section: tuple[str, ...]) -> str:
    if not grades:
        return " > ".join(section)
    alternatives = "|".join(re.escape(g) for g in sorted(grades, key=lambda g: -len(g)))
    pattern = _compiled((rf"(?:[:\-–]\s*|\s+)(?:{alternatives})\.?\s*$",))[0]
    return " > ".join(pattern.sub("", head) for head in section)


def _read_toml(path: Path) -> dict:
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix the syntax at that line") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; save the config as UTF-8") from None


def _get(table: dict, key: str, kind: type, where: str, default=None):
    """Fetch `key` from `table`, checking its type; `where` names the file and table."""
    if key not in table:
        if default is not None:
            return default
        raise ConfigError(
            f"{where}: missing key '{key}'; add it (expected {kind.__name__})."
            + did_you_mean(key, table.keys())
        )
    value = table[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(
            f"{where}: key '{key}' expected {kind.__name__}, got {type(value).__name__} ({value!r})"
        )
    return value


def _table(data: dict, key: str, where: str) -> dict:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: [{key}] expected a table, got {type(value).__name__} ({value!r}); "
                          f"write it as a [{key}] section")
    return value


def _table_list(data: dict, key: str, where: str, required: bool = False) -> list[dict]:
    if key not in data and not required:
        return []
    value = _get(data, key, list, where)
    for i, row in enumerate(value):
        if not isinstance(row, dict):
            raise ConfigError(f"{where}: [[{key}]] #{i + 1} expected a table, got {type(row).__name__} ({row!r}); "
                              f"write each entry as a [[{key}]] section")
    return value


def _string_list(table: dict, key: str, where: str) -> list[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: key '{key}' expected a list of strings, got {value!r}")
    return value


def _check_keys(table: dict, allowed: set[str], where: str) -> None:
    for key in table:
        if key not in allowed:
            raise ConfigError(
                f"{where}: unknown key '{key}'; allowed keys: {', '.join(sorted(allowed))}."
                + did_you_mean(key, allowed)
            )


def _check_regex(pattern: str, where: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ConfigError(f"{where}: invalid regular expression {pattern!r} ({exc})") from None
    return pattern


def load_themes(path: Path) -> tuple[Theme, ...]:
    data = _read_toml(path)
    _check_keys(data, {"themes"}, str(path))
    rows = _get(data, "themes", list, str(path))
    themes, seen = [], set()
    for i, row in enumerate(rows):
        where = f"{path} [[themes]] #{i + 1}"
        _check_keys(row, {"id", "name", "description", "terms"}, where)
        tid = _get(row, "id", str, where)
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", tid):
            raise ConfigError(f"{where}: id {tid!r} must be lower-case letters, digits and '-'")
        if tid in seen:
            raise ConfigError(f"{where}: duplicate theme id {tid!r}; give each theme its own id")
        seen.add(tid)
        terms = _get(row, "terms", list, where) if "terms" in row else []
        if not all(isinstance(t, str) and t.strip() for t in terms):
            raise ConfigError(f"{where}: key 'terms' expected a list of non-empty strings (e.g. [\"chronolog\"]), "
                              f"got {terms!r}")
        themes.append(Theme(tid, _get(row, "name", str, where), _get(row, "description", str, where),
                            tuple(t.strip() for t in terms)))
    if not themes:
        raise ConfigError(f"{path}: no [[themes]] declared; add at least one")
    return tuple(themes)


def load_framework(name_or_path: str | Path = "carh") -> Framework:
    """Load a framework by id (a file in configs/) or by path, validating every key."""
    path = Path(name_or_path)
    if path.suffix != ".toml":
        candidate = CONFIG_DIR / f"{name_or_path}.toml"
        if not candidate.is_file():
            known = sorted(p.stem for p in CONFIG_DIR.glob("*.toml") if _is_framework(p))
            raise ConfigError(
                f"unknown framework {str(name_or_path)!r}; known: {', '.join(known)}."
                + did_you_mean(str(name_or_path), known)
            )
        path = candidate
    data = _read_toml(path)
    where = str(path)
    _check_keys(data, {"framework", "statements", "evaluation_scale", "quantifiers", "sections", "polarity_cues"},
                where)
    cues = _table(data, "polarity_cues", where)
    _check_keys(cues, {"strength", "weakness"}, f"{where} [polarity_cues]")
    for key in ("strength", "weakness"):
        value = cues.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise ConfigError(f"{where} [polarity_cues]: key '{key}' expected a list of phrases, got {value!r}")
    head = _get(data, "framework", dict, where)
    _check_keys(head, {"id", "name", "themes"}, f"{where} [framework]")
    statements, seen = [], set()
    for i, row in enumerate(_table_list(data, "statements", where, required=True)):
        w = f"{where} [[statements]] #{i + 1}"
        _check_keys(row, {"id", "short", "title", "description", "heading"}, w)
        sid = _get(row, "id", str, w)
        if sid in seen or sid == NO_STATEMENT:
            raise ConfigError(f"{w}: statement id {sid!r} is duplicated or reserved; use a unique id")
        seen.add(sid)
        statements.append(
            Statement(
                sid,
                _get(row, "short", str, w),
                _get(row, "title", str, w),
                _get(row, "description", str, w),
                _check_regex(_get(row, "heading", str, w), f"{w} key 'heading'"),
            )
        )
    if not statements:
        raise ConfigError(f"{where}: no [[statements]] declared; add at least one")
    grades = []
    for i, row in enumerate(_table_list(data, "evaluation_scale", where)):
        w = f"{where} [[evaluation_scale]] #{i + 1}"
        _check_keys(row, {"grade", "polarity"}, w)
        pol = _get(row, "polarity", str, w)
        if pol not in POLARITIES:
            raise ConfigError(
                f"{w}: polarity expected one of {', '.join(POLARITIES)}, got {pol!r}."
                + did_you_mean(pol, POLARITIES)
            )
        grades.append(Grade(_get(row, "grade", str, w), pol))
    quants = []
    for i, row in enumerate(_table_list(data, "quantifiers", where, required=True)):
        w = f"{where} [[quantifiers]] #{i + 1}"
        _check_keys(row, {"term", "low", "high", "phrases", "banded"}, w)
        banded = row.get("banded", True)
        if not isinstance(banded, bool):
            raise ConfigError(f"{w}: key 'banded' expected true or false, got {banded!r}")
        if banded:
            low, high = _get(row, "low", int, w), _get(row, "high", int, w)
            if not 0 <= low <= high <= 100:
                raise ConfigError(f"{w}: band must satisfy 0 <= low <= high <= 100, got {low}-{high}")
        else:
            if "low" in row or "high" in row:
                raise ConfigError(f"{w}: an unbanded term (banded = false) takes no 'low'/'high'; remove them")
            low = high = None
        phrases = _get(row, "phrases", list, w)
        if not phrases or not all(isinstance(p, str) and p.strip() for p in phrases):
            raise ConfigError(f"{w}: 'phrases' must be a non-empty list of strings")
        quants.append(QuantifierTerm(_get(row, "term", str, w), low, high, tuple(phrases)))
    sections = _table(data, "sections", where)
    _check_keys(sections, {"top_level", "not_findings", "strength", "weakness"}, f"{where} [sections]")
    top = tuple(_check_regex(p, f"{where} [sections] key 'top_level'")
                for p in _string_list(sections, "top_level", f"{where} [sections]"))
    nf = tuple(_check_regex(p, f"{where} [sections] key 'not_findings'")
               for p in _string_list(sections, "not_findings", f"{where} [sections]"))
    sec_pol = {key: tuple(_check_regex(p, f"{where} [sections] key '{key}'")
                          for p in _string_list(sections, key, f"{where} [sections]")) for key in ("strength", "weakness")}
    themes_file = path.parent / _get(head, "themes", str, f"{where} [framework]")
    return Framework(
        id=_get(head, "id", str, f"{where} [framework]"),
        name=_get(head, "name", str, f"{where} [framework]"),
        statements=tuple(statements),
        evaluation_scale=tuple(grades),
        quantifiers=tuple(quants),
        themes=load_themes(themes_file),
        strength_cues=tuple(cues.get("strength", [])),
        weakness_cues=tuple(cues.get("weakness", [])),
        top_level_sections=top,
        not_finding_sections=nf,
        strength_sections=sec_pol["strength"],
        weakness_sections=sec_pol["weakness"],
        path=str(path),
    )


def _is_framework(path: Path) -> bool:
    try:
        return "framework" in tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return False


@dataclass(frozen=True)
class TrainConfig:
    """Settings for `nlpfind train` (configs/train.toml)."""

    embedding_model: str = "minilm"
    #: another embedding model for the polarity head alone (e.g. the fine-tuned "minilm-tuned");
    #: "" means the same as embedding_model
    polarity_embedding_model: str = ""
    #: encoder layers (1-based) whose mean token states make the sentence vector, side by side; () is the model's own
    #: vector (and the only choice for a static model)
    embedding_layers: tuple[int, ...] = ()
    #: the polarity model reads the packaged MiniLM with its top N transformer layers fine-tuned on the training
    #: sentences by `nlpfind train` (polarity and theme losses; about a minute an epoch per 3,000 sentences on 2 CPU
    #: cores) and saved in the model folder; 0: no fine-tuning. Excludes `polarity_embedding_model`
    polarity_finetune_layers: int = 0
    polarity_finetune_epochs: int = 6
    polarity_finetune_learning_rate: float = 6e-5
    framework: str = "carh"
    C_statement: float = 4.0
    C_polarity: float = 4.0
    C_themes: float = 16.0
    theme_threshold: float = 0.5
    #: a sentence predicted to bear on a statement gets its most likely theme when none reaches the threshold
    top_theme_for_findings: bool = True
    #: a theme stays off a sentence whose predicted statements it goes with in under this share of the training
    #: sentences that carry it (sum over statements of P(statement) x P(statement | theme)); 0 turns the rule off
    theme_statement_floor: float = 0.0
    ngram_weight: float = 1.0
    embedding_weight: float = 1.0
    section_weight: float = 1.0
    quantifier_weight: float = 0.5
    similarity_weight: float = 1.0
    cue_weight: float = 0.5
    #: weight of the theme-term indicators (the `terms` of each theme), read by the theme head only
    theme_term_weight: float = 1.0
    class_weight: str = "balanced"
    home_weight: float = 3.0
    section_prior: float = 100.0
    section_polarity_prior: float = 10.0
    #: strength and weakness decided by thresholds on P(strength) + P(mixed) and P(weakness) + P(mixed), chosen for
    #: F1 by an inner cross-validation at training time, rather than by the most likely of the four classes
    polarity_thresholds: bool = False
    #: with a polarity model (`polarity_embedding_model`): polarity from the mean of its probabilities and this
    #: model's own polarity head's, decided by the mean of the two models' thresholds (an ensemble of the two encoders)
    polarity_average: bool = False
    #: another train config whose model classifies every sentence first; this config's model classifies again only
    #: those the first is unsure of. In the file, a path relative to the file's folder; loaded, a name in configs/
    #: or an absolute path. "" means none
    first_pass: str = ""
    #: a first-pass finding is kept when its statement's and its polarity's probabilities both reach this
    first_pass_confidence: float = 0.7
    seed: int = 0
    batch_size: int = 64
    extra: dict = field(default_factory=dict)

    @property
    def first_pass_config(self) -> TrainConfig | None:
        """The first pass's settings (`first_pass`), or None."""
        return load_train_config(CONFIG_DIR / self.first_pass) if self.first_pass else None

    @property
    def separate_polarity(self) -> bool:
        """Whether polarity comes from a second model, on `polarity_embedding_model` or on an encoder fine-tuned by
        `nlpfind train` (`polarity_finetune_layers`)."""
        return self.polarity_finetune_layers > 0 or (bool(self.polarity_embedding_model)
                                                     and self.polarity_embedding_model != self.embedding_model)

    @property
    def finetune_settings(self):
        """How `nlpfind train` fine-tunes the polarity model's encoder, or None where it does not."""
        from .finetune import FinetuneSettings

        if not self.polarity_finetune_layers:
            return None
        return FinetuneSettings(self.polarity_finetune_layers, self.polarity_finetune_epochs,
                                self.polarity_finetune_learning_rate, self.seed)


def _layers(table: dict, key: str, where: str) -> tuple[int, ...]:
    """A list of distinct layer numbers >= 1, e.g. [3, 4, 6]."""
    value = _get(table, key, list, where)
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in value) or len(set(value)) < len(value):
        raise ConfigError(f"{where}: key '{key}' expected a list of distinct layer numbers >= 1 (e.g. [3, 4, 6]), "
                          f"got {value!r}")
    return tuple(value)


def load_train_config(path: Path | None = None) -> TrainConfig:
    path = Path(path) if path else CONFIG_DIR / "train.toml"
    data = _read_toml(path)
    where = str(path)
    _check_keys(data, {"train"}, where)
    table = _get(data, "train", dict, where)
    defaults = TrainConfig()
    allowed = {f for f in TrainConfig.__dataclass_fields__ if f != "extra"}
    _check_keys(table, allowed, f"{where} [train]")
    values = {}
    for key in table:
        if key == "embedding_layers":
            values[key] = _layers(table, key, f"{where} [train]")
            continue
        kind = type(getattr(defaults, key))
        values[key] = _get(table, key, kind, f"{where} [train]")
    for key in ("C_statement", "C_polarity", "C_themes", "home_weight", "section_prior", "section_polarity_prior"):
        if key in values and values[key] <= 0:
            raise ConfigError(f"{where} [train]: key '{key}' must be > 0, got {values[key]}")
    for key in ("ngram_weight", "embedding_weight", "section_weight", "quantifier_weight", "similarity_weight",
                "cue_weight", "theme_term_weight"):
        if key in values and values[key] < 0:
            raise ConfigError(f"{where} [train]: key '{key}' must be >= 0, got {values[key]}")
    if not 0 <= values.get("theme_statement_floor", 0.0) < 1:
        raise ConfigError(f"{where} [train]: key 'theme_statement_floor' must be at least 0 and under 1 (0 turns it "
                          f"off), got {values['theme_statement_floor']}")
    if not 0 < values.get("theme_threshold", 0.5) < 1:
        raise ConfigError(f"{where} [train]: key 'theme_threshold' must be between 0 and 1, "
                          f"got {values['theme_threshold']}")
    from .embed import STATIC_NAMES

    if values.get("embedding_layers") and values.get("embedding_model", defaults.embedding_model) in STATIC_NAMES:
        raise ConfigError(f"{where} [train]: key 'embedding_layers' must be [] for the static embedding model "
                          f"(it has no encoder layers), got {list(values['embedding_layers'])}")
    if values.get("batch_size", 1) < 1:
        raise ConfigError(f"{where} [train]: key 'batch_size' must be >= 1, got {values['batch_size']}")
    if values.get("class_weight", "balanced") not in ("balanced", "none"):
        raise ConfigError(f"{where} [train]: key 'class_weight' expected \"balanced\" or \"none\", "
                          f"got {values['class_weight']!r}")
    if not 0 < values.get("first_pass_confidence", 0.5) < 1:
        raise ConfigError(f"{where} [train]: key 'first_pass_confidence' must be between 0 and 1, "
                          f"got {values['first_pass_confidence']}")
    if not 0 <= values.get("polarity_finetune_layers", 0) <= MINILM_LAYERS:
        raise ConfigError(f"{where} [train]: key 'polarity_finetune_layers' must be 0-{MINILM_LAYERS} (the packaged "
                          f"MiniLM's layers; 0: no fine-tuning), got {values['polarity_finetune_layers']}")
    if values.get("polarity_finetune_epochs", 1) < 1:
        raise ConfigError(f"{where} [train]: key 'polarity_finetune_epochs' must be >= 1, "
                          f"got {values['polarity_finetune_epochs']}")
    if values.get("polarity_finetune_learning_rate", 1.0) <= 0:
        raise ConfigError(f"{where} [train]: key 'polarity_finetune_learning_rate' must be > 0, "
                          f"got {values['polarity_finetune_learning_rate']}")
    if values.get("polarity_finetune_layers") and values.get("polarity_embedding_model"):
        raise ConfigError(f"{where} [train]: keys 'polarity_finetune_layers' and 'polarity_embedding_model' both name "
                          "the polarity model's encoder (a MiniLM fine-tuned by `nlpfind train`, or a given one); "
                          "remove one of them")
    encoders = {k: values[k] for k in ("embedding_model", "polarity_embedding_model", "polarity_finetune_layers")
                if k in values}
    if values.get("polarity_average") and not replace(defaults, **encoders).separate_polarity:
        raise ConfigError(f"{where} [train]: key 'polarity_average' averages two polarity models and needs "
                          "'polarity_finetune_layers' > 0 or 'polarity_embedding_model' set to another encoder than "
                          "'embedding_model' (e.g. \"minilm-tuned\"); set one, or set polarity_average = false")
    if values.get("first_pass"):
        values["first_pass"] = str(_first_pass_path(path, values["first_pass"], values.get("framework", defaults.framework)))
    return TrainConfig(**values)


def _first_pass_path(path: Path, name: str, framework: str) -> Path:
    """The first pass's config file, checked: it loads, has the same framework and no first pass of its own."""
    where = f"{path} [train] key 'first_pass'"
    target = (path.parent / name).resolve()
    if not target.is_file():
        known = sorted(p.name for p in path.parent.glob("*.toml"))
        raise ConfigError(f"{where}: no train config {name!r} in {path.parent}." + did_you_mean(name, known))
    table = _read_toml(target).get("train")
    if isinstance(table, dict) and table.get("first_pass"):  # checked before loading it: no chains, no cycles
        raise ConfigError(f"{where}: {target} has a first pass of its own; a first pass must be a plain model")
    first = load_train_config(target)
    if first.separate_polarity:  # the first pass decides alone and fast: one model, one encoder
        raise ConfigError(f"{where}: {target} has a polarity model of its own (polarity_embedding_model or "
                          "polarity_finetune_layers); a first pass must be a plain model")
    if first.framework != framework:
        raise ConfigError(f"{where}: {target} is for framework {first.framework!r}, this config for {framework!r}; "
                          "use one framework")
    # a config in configs/ by its name, so models trained from it do not record this machine's paths
    return Path(target.name) if target.parent == CONFIG_DIR.resolve() else target

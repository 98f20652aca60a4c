"""Framework and training configuration files: loading, and one clear ConfigError per mistake."""

from __future__ import annotations

import re

import pytest

from nlpfind.config import CONFIG_DIR, TrainConfig, load_framework, load_themes, load_train_config
from nlpfind.errors import ConfigError
from nlpfind.segment import segment

# An invented second framework (adult support and protection), with its own themes file.
ASP = """
[framework]
id = "asp"
name = "Adult support and protection (invented for the tests)"
themes = "asp-themes.toml"

[[statements]]
id = "a"
short = "Adults at risk are safer"
title = "Adults at risk of harm are safer because partners act early"
description = "Screening, triage, investigations and protection plans."
heading = '^quality indicator a\\b'

[[statements]]
id = "b"
short = "Leadership"
title = "Leaders drive improvement in adult protection"
description = "Strategy, governance and self-evaluation."
heading = '^quality indicator b\\b'

[[evaluation_scale]]
grade = "good"
polarity = "strength"

[[evaluation_scale]]
grade = "weak"
polarity = "weakness"

[[quantifiers]]
term = "most"
low = 75
high = 90
phrases = ["most"]

[sections]
top_level = ['^background\\b']
not_findings = ['^background\\b']

[polarity_cues]
strength = ["effective"]
weakness = ["should"]
"""

ASP_THEMES = """
[[themes]]
id = "screening"
name = "Screening and triage"
description = "How referrals about adults at risk are screened."

[[themes]]
id = "protection-plans"
name = "Protection plans"
description = "Plans that keep adults safe."
"""


@pytest.fixture
def write_framework(tmp_path):
    (tmp_path / "asp-themes.toml").write_text(ASP_THEMES, encoding="utf-8")

    def write(text: str = ASP, themes: str | None = None, name: str = "asp.toml"):
        if themes is not None:
            (tmp_path / "asp-themes.toml").write_text(themes, encoding="utf-8")
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


def _edit(old: str, new: str, text: str = ASP) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def test_shipped_framework_loads(framework):
    assert framework.id == "carh"
    assert framework.statement_ids == ("1", "2", "3", "4")
    assert framework.statement_labels == ("1", "2", "3", "4", "none")
    assert [q.term for q in framework.quantifiers] == ["all", "almost all", "most", "majority", "less than half",
                                                       "significant minority", "a few", "none"]
    assert {(q.term, q.low, q.high) for q in framework.quantifiers} >= {("most", 75, 90), ("a few", 1, 15)}
    assert len(framework.theme_ids) == len(set(framework.theme_ids)) >= 10
    assert framework.statement_for_heading("Statement 3: Children, young people and families") == "3"
    assert framework.statement_for_heading("Key messages") is None
    assert framework.strength_cues and framework.weakness_cues
    assert load_framework(CONFIG_DIR / "carh.toml") == framework


def test_unknown_framework_name_suggests_the_closest():
    with pytest.raises(ConfigError, match=r"unknown framework 'carhh'.*Did you mean \"carh\"\?"):
        load_framework("carhh")


def test_a_second_framework_loads_from_its_own_file(write_framework, tmp_path):
    fw = load_framework(write_framework())
    assert fw.id == "asp" and fw.statement_ids == ("a", "b")
    assert fw.theme_ids == ("screening", "protection-plans")
    assert fw.path == str(tmp_path / "asp.toml")
    assert fw.statement_for_heading("Quality indicator B: leadership") == "b"
    assert [(g.grade, g.polarity) for g in fw.evaluation_scale] == [("good", "strength"), ("weak", "weakness")]


def test_a_second_framework_drives_segmentation(write_framework):
    fw = load_framework(write_framework())
    text = ("Background\n\nThe partnership covers three towns.\n\n"
            "Quality indicator A: adults are safer\n\nMost referrals were screened within a day.\n")
    sents = segment(text, fw)
    assert [(s.clean, s.statement_section, s.in_finding_section) for s in sents] == [
        ("The partnership covers three towns.", None, False),
        ("Most referrals were screened within a day.", "a", True),
    ]


def _error(path) -> str:
    with pytest.raises(ConfigError) as info:
        load_framework(path)
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("old, new, expected", [
    ('short = "Leadership"\n', "", r"\[\[statements\]\] #2: missing key 'short'"),
    ('name = "Adult support and protection (invented for the tests)"\n', "", r"\[framework\]: missing key 'name'"),
    ('low = 75', 'low = "75"', r"\[\[quantifiers\]\] #1: key 'low' expected int, got str \('75'\)"),
    ('low = 75', 'low = true', r"key 'low' expected int, got bool"),
    ('term = "most"', 'term = 7', r"key 'term' expected str, got int \(7\)"),
    ('phrases = ["most"]', 'phrases = "most"', r"key 'phrases' expected list, got str"),
    ('short = "Leadership"', 'shrot = "Leadership"',
     r"\[\[statements\]\] #2: unknown key 'shrot'.*Did you mean \"short\"\?"),
    ('[sections]', '[section]', r"unknown key 'section'.*Did you mean \"sections\"\?"),
    ('strength = ["effective"]', 'strenght = ["effective"]', r"unknown key 'strenght'.*Did you mean \"strength\""),
    ("heading = '^quality indicator b\\b'", "heading = '^quality (indicator b'",
     r"\[\[statements\]\] #2 key 'heading': invalid regular expression"),
    ("not_findings = ['^background\\b']", "not_findings = ['[unclosed']",
     r"\[sections\] key 'not_findings': invalid regular expression"),
    ('high = 90', 'high = 120', r"band must satisfy 0 <= low <= high <= 100, got 75-120"),
    ('low = 75', 'low = 95', r"got 95-90"),
    ('low = 75', 'low = -5', r"got -5-90"),
    ('id = "b"', 'id = "a"', r"statement id 'a' is duplicated"),
    ('id = "b"', 'id = "none"', r"statement id 'none' is duplicated or reserved"),
    ('polarity = "strength"', 'polarity = "strenght"', r"polarity expected one of .*Did you mean \"strength\""),
    ('phrases = ["most"]', 'phrases = []', r"'phrases' must be a non-empty list"),
    ('id = "asp"', 'id = "asp', r"not valid TOML"),
    ('weakness = ["should"]', 'weakness = ["should", ""]', r"key 'weakness' expected a list of phrases"),
])
def test_broken_framework_names_file_and_key(write_framework, old, new, expected):
    path = write_framework(_edit(old, new))
    message = _error(path)
    assert message.startswith(str(path))
    assert re.search(expected, message), message


def test_invalid_toml_names_the_line(write_framework):
    message = _error(write_framework(_edit('id = "asp"', 'id = "asp')))
    assert "line 3" in message


def test_missing_themes_file(write_framework, tmp_path):
    message = _error(write_framework(_edit('themes = "asp-themes.toml"', 'themes = "nowhere.toml"')))
    assert str(tmp_path / "nowhere.toml") in message and "not found" in message


@pytest.mark.parametrize("old, new, expected", [
    ('id = "protection-plans"', 'id = "screening"', r"\[\[themes\]\] #2: duplicate theme id 'screening'"),
    ('id = "protection-plans"', 'id = "Protection Plans"', r"\[\[themes\]\] #2: id 'Protection Plans' must be"),
    ('name = "Protection plans"', 'nmae = "Protection plans"', r"unknown key 'nmae'.*Did you mean \"name\""),
    ('description = "Plans that keep adults safe."\n', '', r"#2: missing key 'description'"),
])
def test_broken_themes_file(write_framework, tmp_path, old, new, expected):
    path = write_framework(themes=_edit(old, new, ASP_THEMES))
    message = _error(path)
    assert message.startswith(str(tmp_path / "asp-themes.toml"))
    assert re.search(expected, message), message


def test_theme_terms_load_and_bad_ones_are_named(write_framework, tmp_path):
    fw = load_framework()
    assert "chronolog" in fw.themes[fw.theme_ids.index("chronologies")].terms
    assert len(fw.theme_terms) == len(fw.themes)
    path = write_framework(themes=_edit('description = "Plans that keep adults safe."',
                                        'description = "Plans that keep adults safe."\nterms = ["plan", ""]', ASP_THEMES))
    message = _error(path)
    assert message.startswith(str(tmp_path / "asp-themes.toml") + " [[themes]] #2: key 'terms' expected a list of "
                                                                  "non-empty strings"), message


def test_empty_themes_file(tmp_path):
    path = tmp_path / "themes.toml"
    path.write_text("themes = []\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(str(path)) + ": no \\[\\[themes\\]\\]"):
        load_themes(path)


def test_config_not_utf8(tmp_path):
    path = tmp_path / "latin.toml"
    path.write_bytes('[framework]\nname = "Sant\xe9"\n'.encode("latin-1"))
    with pytest.raises(ConfigError, match=re.escape(str(path)) + ".*UTF-8"):
        load_framework(path)


@pytest.mark.parametrize("edit", [
    ('[framework]', 'evaluation_scale = 5\n[framework]', '[[evaluation_scale]]\ngrade = "good"\npolarity = '
                                                        '"strength"\n\n[[evaluation_scale]]\ngrade = "weak"\n'
                                                        'polarity = "weakness"\n'),
    ('[framework]', 'quantifiers = [1]\n[framework]', '[[quantifiers]]\nterm = "most"\nlow = 75\nhigh = 90\n'
                                                      'phrases = ["most"]\n'),
    ('[framework]', 'sections = 3\n[framework]', "[sections]\ntop_level = ['^background\\b']\n"
                                                 "not_findings = ['^background\\b']\n"),
    ('[framework]', 'polarity_cues = 3\n[framework]', '[polarity_cues]\nstrength = ["effective"]\n'
                                                      'weakness = ["should"]\n'),
    ("top_level = ['^background\\b']", "top_level = [1]", ""),
], ids=["evaluation_scale int", "quantifiers [1]", "sections int", "polarity_cues int", "top_level [1]"])
def test_wrong_types_in_optional_tables_are_config_errors(write_framework, edit):
    old, new, remove = edit
    text = _edit(old, new)
    if remove:
        text = _edit(remove, "", text)
    path = write_framework(text)
    with pytest.raises(ConfigError, match=re.escape(str(path))):
        load_framework(path)


def test_string_instead_of_list_of_patterns(write_framework):
    path = write_framework(_edit("top_level = ['^background\\b']", "top_level = '^background'"))
    with pytest.raises(ConfigError, match="top_level"):
        load_framework(path)


# -- train.toml ------------------------------------------------------------------------------------
def test_shipped_train_config_loads():
    cfg = load_train_config()
    assert isinstance(cfg, TrainConfig)
    assert cfg.framework == "carh" and cfg.class_weight in ("balanced", "none")
    assert 0 < cfg.theme_threshold < 1


def test_train_config_values(tmp_path):
    path = tmp_path / "train.toml"
    path.write_text("[train]\nseed = 7\nC_statement = 2\ntheme_threshold = 0.5\n", encoding="utf-8")
    cfg = load_train_config(path)
    assert (cfg.seed, cfg.C_statement, cfg.theme_threshold) == (7, 2.0, 0.5)
    assert isinstance(cfg.C_statement, float)
    assert cfg.batch_size == TrainConfig().batch_size


@pytest.mark.parametrize("body, expected", [
    ('[train]\nclass_weight = "sometimes"\n', r"key 'class_weight' expected \"balanced\" or \"none\", got 'sometimes'"),
    ('[train]\nC_statement = "high"\n', r"key 'C_statement' expected float, got str \('high'\)"),
    ("[train]\nseed = 1.5\n", r"key 'seed' expected int, got float"),
    ("[train]\nseed = true\n", r"key 'seed' expected int, got bool"),
    ("[train]\nC_statment = 2.0\n", r"unknown key 'C_statment'.*Did you mean \"C_statement\"\?"),
    ("[trian]\nseed = 1\n", r"unknown key 'trian'.*Did you mean \"train\"\?"),
    ("train = 3\n", r"key 'train' expected dict, got int"),
    ("[train\nseed = 1\n", r"not valid TOML"),
    ("[train]\nembedding_layers = [0]\n",
     r"'embedding_layers' expected a list of distinct layer numbers >= 1 \(e.g. \[3, 4, 6\]\), got \[0\]"),
    ("[train]\nembedding_layers = [3, 3]\n", r"expected a list of distinct layer numbers"),
    ('[train]\nembedding_layers = ["3"]\n', r"expected a list of distinct layer numbers"),
    ("[train]\nembedding_layers = [3.0]\n", r"expected a list of distinct layer numbers"),
    ("[train]\nembedding_layers = 3\n", r"key 'embedding_layers' expected list, got int"),
    ("[train]\ntheme_term_weight = -1.0\n", r"key 'theme_term_weight' must be >= 0, got -1.0"),
    ('[train]\npolarity_thresholds = "yes"\n', r"key 'polarity_thresholds' expected bool, got str"),
    ("[train]\npolarity_average = true\n", r"key 'polarity_average' averages two polarity models and needs "
                                            r"'polarity_finetune_layers' > 0 or 'polarity_embedding_model' set"),
    ('[train]\npolarity_average = true\npolarity_embedding_model = "minilm"\n', r"'polarity_embedding_model' set to "
                                                                              r"another encoder"),
    ("[train]\npolarity_finetune_layers = -1\n", r"key 'polarity_finetune_layers' must be 0-6 \(the packaged MiniLM's "
                                                 r"layers; 0: no fine-tuning\), got -1"),
    ("[train]\npolarity_finetune_layers = 7\n", r"key 'polarity_finetune_layers' must be 0-6"),
    ("[train]\npolarity_finetune_layers = 2.0\n", r"key 'polarity_finetune_layers' expected int, got float"),
    ("[train]\npolarity_finetune_epochs = 0\n", r"key 'polarity_finetune_epochs' must be >= 1, got 0"),
    ("[train]\npolarity_finetune_learning_rate = 0.0\n", r"key 'polarity_finetune_learning_rate' must be > 0"),
    ('[train]\npolarity_finetune_layers = 4\npolarity_embedding_model = "minilm-tuned"\n',
     r"keys 'polarity_finetune_layers' and 'polarity_embedding_model' both name the polarity model's encoder"),
])
def test_bad_train_config(tmp_path, body, expected):
    path = tmp_path / "train.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_train_config(path)
    assert str(info.value).startswith(str(path))
    assert re.search(expected, str(info.value)), str(info.value)


def test_missing_train_config(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_train_config(tmp_path / "nope.toml")


@pytest.mark.parametrize("body", ["[train]\nC_statement = -1.0\n", "[train]\ntheme_threshold = 1.5\n",
                                  "[train]\nbatch_size = 0\n", "[train]\ntheme_statement_floor = 1.0\n",
                                  "[train]\ntheme_statement_floor = -0.1\n"])
def test_out_of_range_train_values(tmp_path, body):
    path = tmp_path / "train.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(str(path))):
        load_train_config(path)


def test_embedding_layers_load_in_order_and_a_static_model_refuses_them(tmp_path):
    path = tmp_path / "train.toml"
    path.write_text("[train]\nembedding_layers = [6, 3]\n", encoding="utf-8")
    assert load_train_config(path).embedding_layers == (6, 3)
    assert TrainConfig().embedding_layers == ()  # a key left out: the model's own vector
    assert load_train_config().embedding_layers == (3, 4, 6)  # the shipped default model's
    assert load_train_config(CONFIG_DIR / "train-fast.toml").embedding_layers == ()
    path.write_text('[train]\nembedding_model = "static"\nembedding_layers = [3]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="'embedding_layers' must be \\[\\] for the static embedding model"):
        load_train_config(path)


def test_top_theme_for_findings_must_be_a_boolean(tmp_path):
    path = tmp_path / "train.toml"
    path.write_text('[train]\ntop_theme_for_findings = "yes"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="'top_theme_for_findings' expected bool, got str"):
        load_train_config(path)
    path.write_text("[train]\ntop_theme_for_findings = false\n", encoding="utf-8")
    assert load_train_config(path).top_theme_for_findings is False

from monitor.matching import BrandMatcher, BrandRules, fold

ACME = BrandRules(
    brand_id=1,
    name="Koffiekoning",
    keywords=("koffiekoning", "koffiekoning.nl", "café royal"),
    hashtags=("#koffiekoning",),
    handles=("koffiekoning",),
    exclusions=("koffiekoning van",),
)
RIVAL = BrandRules(
    brand_id=2,
    name="BonenBaas",
    keywords=("bonenbaas",),
    hashtags=("#bonenbaas",),
    handles=("bonenbaas_nl",),
    exclusions=(),
)
MATCHER = BrandMatcher([ACME, RIVAL])


def test_fold_removes_case_and_accents() -> None:
    assert fold("Café KÖNIG Überraschung") == "cafe konig uberraschung"


def test_keyword_whole_word_case_insensitive_dutch() -> None:
    assert MATCHER.match("Mijn bestelling bij KoffieKoning is nog niet binnen") == {1: "keyword"}


def test_keyword_is_not_matched_inside_a_longer_word() -> None:
    assert MATCHER.match("koffiekoningen zijn overal") == {}
    assert MATCHER.match("superkoffiekoning") == {}


def test_accents_are_ignored_in_text_and_keyword() -> None:
    assert MATCHER.match("Lekker bij Cafe Royal vandaag") == {1: "keyword"}
    assert MATCHER.match("Lekker bij CAFÉ ROYAL vandaag") == {1: "keyword"}


def test_hashtag_and_handle() -> None:
    assert MATCHER.match("Best beans ever #KoffieKoning") == {1: "hashtag"}
    assert MATCHER.match("@koffiekoning where is my order?") == {1: "handle"}
    assert MATCHER.match("@koffiekoning_support where is my order?") == {}


def test_domain_keyword_in_url() -> None:
    assert MATCHER.match("ordered at https://koffiekoning.nl/bonen today") == {1: "keyword"}


def test_exclusion_wins_over_keyword_for_that_brand_only() -> None:
    text = "Ze werd de koffiekoning van Utrecht, beter dan bonenbaas"
    assert MATCHER.match(text) == {2: "keyword"}


def test_several_brands_in_one_mention() -> None:
    assert MATCHER.match("koffiekoning vs bonenbaas: who ships faster?") == {1: "keyword", 2: "keyword"}


def test_brand_hint_links_even_without_keyword() -> None:
    assert MATCHER.match("Great service, thanks!", brand_hint="koffiekoning") == {1: "import"}
    assert MATCHER.match("Great service, thanks!", brand_hint="Unknown") == {}


def test_brand_id_for_name_is_accent_and_case_insensitive() -> None:
    assert MATCHER.brand_id_for_name(" BONENBAAS ") == 2


def test_a_scope_limits_the_brands_to_one_and_its_competitors() -> None:
    own = BrandRules(brand_id=1, name="Acme", keywords=("acme",), hashtags=(), handles=(), exclusions=())
    rival = BrandRules(
        brand_id=2, name="Rival", keywords=("rival",), hashtags=(), handles=(), exclusions=(), competitor_of=1
    )
    other = BrandRules(brand_id=3, name="Other", keywords=("other",), hashtags=(), handles=(), exclusions=())
    matcher = BrandMatcher([own, rival, other])
    text = "acme, rival or other?"
    assert matcher.match(text) == {1: "keyword", 2: "keyword", 3: "keyword"}
    assert matcher.match(text, scope_brand_id=1) == {1: "keyword", 2: "keyword"}
    assert matcher.match(text, scope_brand_id=3) == {3: "keyword"}
    assert matcher.match("nothing", brand_hint="Other", scope_brand_id=1) == {}  # the hint is held to it too

"""HTML from platforms as text: breaks between blocks kept, entities decoded, scripts and styles dropped."""

import pytest

from monitor.collectors.hackernews import map_hit
from monitor.collectors.html_text import html_to_text
from monitor.collectors.mastodon import html_to_text as mastodon_text
from monitor.collectors.rss import strip_html


def test_list_items_keep_their_breaks() -> None:
    markup = "<p>This is fascinating:</p><ul><li>They spent</li><li>two years</li></ul><p>Wow</p>"
    assert html_to_text(markup) == "This is fascinating:\n\n  * They spent\n  * two years\n\nWow"


def test_paragraphs_are_blank_lines_and_br_a_line_break() -> None:
    assert html_to_text("<p>one<br>two<br/>three</p><p>four</p>") == "one\ntwo\nthree\n\nfour"


def test_entities_are_decoded() -> None:
    assert html_to_text("<p>Caf&eacute; &amp; co &lt;3 &#8364;5&nbsp;off</p>") == "Café & co <3 €5 off"


def test_scripts_styles_and_comments_are_dropped() -> None:
    markup = "<style>p { color: red }</style><p>kept<script>alert(1)</script></p><!-- note -->"
    assert html_to_text(markup) == "kept"


def test_preformatted_text_keeps_its_lines_and_indent() -> None:
    assert html_to_text("<p>code:</p><pre>def f():\n    return 1</pre>") == "code:\n\ndef f():\n    return 1"


def test_hidden_classes_are_left_out_with_their_content_but_not_what_follows() -> None:
    markup = '<p>a <span class="x quote-inline">RE: <br/>link</span> b</p>'
    assert html_to_text(markup, hidden_classes={"quote-inline"}) == "a b"


def test_control_characters_are_dropped_before_parsing() -> None:
    # lxml would turn the NUL into U+FFFD and cut the text at the lone surrogate
    assert html_to_text("<p>a\x00b \ud800 c</p>") == "ab \ufffd c"


@pytest.mark.parametrize("markup", ["", "   ", "<!-- only a comment -->", "<p> </p>"])
def test_markup_without_text_is_empty(markup: str) -> None:
    assert html_to_text(markup) == ""


def test_mastodon_list_items_keep_their_breaks() -> None:
    markup = "<p>This is fascinating:</p><ul><li>They spent</li><li>two years</li></ul>"
    assert mastodon_text(markup) == "This is fascinating:\n\n  * They spent\n  * two years"


def test_feed_html_lists_keep_their_breaks() -> None:
    assert strip_html("<p>Menu:</p><ul><li>espresso</li><li>flat&nbsp;white</li></ul>") == (
        "Menu:\n* espresso\n* flat white"
    )


def test_hacker_news_comment_lists_and_paragraphs_keep_their_breaks() -> None:
    hit = {
        "objectID": "1",
        "created_at_i": 1_700_000_000,
        "author": "pg",
        "_tags": ["comment"],
        "comment_text": "Two things:<ul><li>roast</li><li>grind</li></ul><p>Both &quot;fine&quot;.",
    }
    assert map_hit(hit).text == 'Two things:\n  * roast\n  * grind\n\nBoth "fine".'

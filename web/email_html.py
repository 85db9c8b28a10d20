"""Email HTML is hostile input: sanitised with nh3 each time it is shown (the raw mail is kept).

Scripts, styles, event handlers and forms go; images load only from inside the message
(data: or cid:), so no tracking pixel reports that the office read the mail.
"""

from __future__ import annotations

import nh3
from markupsafe import Markup

_URL_SCHEMES = {"http", "https", "mailto", "tel", "cid", "data"}
_LINK_SCHEMES = ("http:", "https:", "mailto:", "tel:")
_IMAGE_SCHEMES = ("cid:", "data:image/")
_DROP_WITH_CONTENT = {"script", "style", "title", "head", "noscript", "template", "object"}


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    """Links only to the web and mail; images only from inside the message."""
    lowered = value.strip().lower()
    if attribute == "src":
        return value if lowered.startswith(_IMAGE_SCHEMES) else None
    if attribute == "href":
        return value if lowered.startswith(_LINK_SCHEMES) else None
    return value


def sanitise(html: str) -> Markup:
    """Safe to put in a page: what nh3 leaves of the message's own HTML."""
    cleaned = nh3.clean(
        html,
        clean_content_tags=_DROP_WITH_CONTENT,
        url_schemes=_URL_SCHEMES,
        attribute_filter=_keep_attribute,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return Markup(cleaned)  # nh3 output: the one HTML from a message we trust

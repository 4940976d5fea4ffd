"""web_receiver: the viewer's caption page, served by the archive at ``/`` (same origin as the API).

The page (``static/``) listens through the phone's microphone, decodes triggers with the
JavaScript decoder (``trigger_codec/js``) in a Web Worker and shows the captions it fetches from
the archive, by the rules of ``receiver_app/display.py`` (held to the same cases by
``tests/data/display_cases.json``). This package only serves it::

    from web_receiver import mount
    mount(app)          # GET /, /sw.js, /manifest.webmanifest, /assets/<version>/...

Exceptions::

    WebReceiverError
    └── AssetsMissing     the static files (or the JavaScript decoder) are not installed
"""

from __future__ import annotations

from web_receiver.assets import AssetBundle, load_bundle
from web_receiver.errors import AssetsMissing, WebReceiverError
from web_receiver.routes import SECURITY_HEADERS, make_router, mount

__all__ = [
    "SECURITY_HEADERS",
    "AssetBundle",
    "AssetsMissing",
    "WebReceiverError",
    "load_bundle",
    "make_router",
    "mount",
]

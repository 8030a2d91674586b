"""``InstagramMessenger``: Instagram messaging through the Messenger Platform.

Instagram's webhook has Messenger's shape under ``object: "instagram"`` (``entry[].id`` is the
Instagram professional account, ``sender.id`` an Instagram-scoped id, different from the same
person's Messenger id), and replies go through the same Send API (``me/messages`` with the
token of the Page linked to the account). What differs is handled here: the webhook object,
the text limit (1000 UTF-8 bytes per message, where Messenger allows 2000 characters) and the
profile fields Instagram accepts. Echoes (``message.is_echo``) and ``messaging_seen`` events
are never answered, as on Messenger (``parse.py`` drops them).
"""

from __future__ import annotations

from .messenger import FacebookMessenger

#: Instagram's text limit per message, in UTF-8 bytes
INSTAGRAM_TEXT_LIMIT = 1000


class InstagramMessenger(FacebookMessenger):
    """Takes the same arguments as :class:`FacebookMessenger`; ``page_access_token`` is the
    token of the Facebook Page linked to the Instagram professional account.

    Quick replies follow Messenger's limits, which Instagram shares (at most 13, titles of at
    most 20 characters); ``profile`` accepts Instagram's fields (``ice_breakers``,
    ``persistent_menu``), pushed with ``platform=instagram``.
    """

    channel = "instagram"
    webhook_object = "instagram"
    text_limit = INSTAGRAM_TEXT_LIMIT
    text_limit_utf8 = True

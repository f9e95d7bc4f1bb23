"""Media a user can send besides text and documents (stickers, voice, video, places, contacts),
as the Message fields Telegram fills in. The bot cannot download these: only their shape matters.
"""

from __future__ import annotations

from typing import Any, Literal

MediaKind = Literal[
    "photo", "sticker", "voice", "video", "video_note", "audio", "animation", "location", "contact"
]


def media_fields(kind: MediaKind, n: int, user: dict[str, Any]) -> dict[str, Any]:
    """The Message field(s) for one piece of `kind` media; `n` makes its file ids unique."""
    file = {"file_id": f"CAAC{kind}{n:08d}", "file_unique_id": f"AgAD{kind}{n:08d}"}
    if kind == "photo":
        return {"photo": [{**file, "width": 90, "height": 90, "file_size": 1200}]}
    if kind == "sticker":
        return {
            "sticker": {
                **file,
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "emoji": "👍",
            }
        }
    if kind == "voice":
        return {"voice": {**file, "duration": 3, "mime_type": "audio/ogg"}}
    if kind == "audio":
        return {"audio": {**file, "duration": 30, "mime_type": "audio/mpeg"}}
    if kind == "video":
        return {"video": {**file, "width": 640, "height": 360, "duration": 5}}
    if kind == "video_note":
        return {"video_note": {**file, "length": 240, "duration": 4}}
    if kind == "animation":
        return {"animation": {**file, "width": 320, "height": 240, "duration": 2}}
    if kind == "location":
        return {"location": {"latitude": 48.8566, "longitude": 2.3522}}
    return {
        "contact": {
            "phone_number": "+33600000000",
            "first_name": "Jean",
            "user_id": 777000001,
        }
    }

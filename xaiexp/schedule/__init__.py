from xaiexp.schedule.schedule import constant, cosine, cosine_decay

__all__ = ["constant", "cosine", "cosine_decay"]

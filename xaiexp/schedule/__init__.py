from xaiexp.schedule.schedule import cosine_decay

__all__ = ["cosine_decay"]

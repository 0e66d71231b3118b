"""Figures as people read them: durations, rates, bands."""


def duration_text(seconds):
    if seconds is None:
        return "—"
    seconds = float(seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def band_document(band):
    return None if band is None else {"band": band.band, "label": band.get_band_display(), "says": band.description}

"""The comments-per-day chart: bar geometry computed on the server and drawn as SVG, no script or library."""
from dataclasses import dataclass

# Each day is a 10-unit slot in a 100-unit-high box; the SVG stretches to the panel's width
# (preserveAspectRatio="none") while the labels stay HTML text, readable on a phone and a desktop.
SLOT = 10
HEIGHT = 100


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    day: str
    count: int


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list
    scale: list  # tick values, top first: what the top, middle and bottom grid lines stand for
    labels: list  # [(text, columns spanned)] of dates along the bottom, one per week
    total: int
    peak: int


def _nice_ceiling(value):
    """The smallest of 1, 2, 5, 10, 20, 50... at least `value`, so the scale reads easily."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def bar_chart(days, label_every=7):
    """Bars for [(date, count)], scaled to a round number above the busiest day."""
    peak = max((count for _, count in days), default=0)
    top = _nice_ceiling(max(peak, 1))
    bars = []
    for index, (day, count) in enumerate(days):
        height = HEIGHT * count / top
        if count:
            height = max(height, 2)  # one comment stays visible next to a busy day
        bars.append(Bar(x=index * SLOT + SLOT * 0.15, y=round(HEIGHT - height, 3), width=SLOT * 0.7,
                        height=round(height, 3), day=day.isoformat(), count=count))
    scale = [top, top // 2 if top % 2 == 0 else None, 0]
    labels = [(days[i][0].strftime("%d %b"), min(label_every, len(days) - i))
              for i in range(0, len(days), label_every)]
    return Chart(len(days) * SLOT, HEIGHT, bars, scale, labels, sum(c for _, c in days), peak)

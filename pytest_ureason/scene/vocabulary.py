"""The object and color vocabulary shared by the reference renderer, its parser and the
classical detector.

Object codes are the row order of :data:`_OBJECT_TABLE` and are **append-only**: the classical
detector reads an object's code from the badge the renderer draws on it, so reordering rows
would change what old images mean. The first 80 rows are the COCO classes that text-to-image
benchmarks (GenEval, T2I-CompBench) use; the rest are objects the shipped suites name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

# name | plural | category | default color | typical size (1 tiny .. 9 huge)
_OBJECT_TABLE = """
person|people|person|pink|6
bicycle|bicycles|vehicle|red|6
car|cars|vehicle|blue|7
motorcycle|motorcycles|vehicle|black|6
airplane|airplanes|vehicle|white|9
bus|buses|vehicle|yellow|8
train|trains|vehicle|red|9
truck|trucks|vehicle|gray|8
boat|boats|vehicle|white|7
traffic light|traffic lights|street|black|6
fire hydrant|fire hydrants|street|red|5
stop sign|stop signs|street|red|5
parking meter|parking meters|street|gray|5
bench|benches|street|brown|6
bird|birds|animal|blue|2
cat|cats|animal|orange|3
dog|dogs|animal|brown|4
horse|horses|animal|brown|7
sheep|sheep|animal|white|6
cow|cows|animal|black|7
elephant|elephants|animal|gray|9
bear|bears|animal|brown|8
zebra|zebras|animal|white|7
giraffe|giraffes|animal|yellow|9
backpack|backpacks|accessory|green|4
umbrella|umbrellas|accessory|blue|5
handbag|handbags|accessory|brown|3
tie|ties|accessory|red|2
suitcase|suitcases|accessory|black|5
frisbee|frisbees|sports|orange|2
skis|skis|sports|blue|6
snowboard|snowboards|sports|purple|5
sports ball|sports balls|sports|orange|2
kite|kites|sports|red|4
baseball bat|baseball bats|sports|brown|4
baseball glove|baseball gloves|sports|brown|2
skateboard|skateboards|sports|green|4
surfboard|surfboards|sports|yellow|6
tennis racket|tennis rackets|sports|green|3
bottle|bottles|kitchen|green|2
wine glass|wine glasses|kitchen|white|2
cup|cups|kitchen|white|1
fork|forks|kitchen|gray|1
knife|knives|kitchen|gray|1
spoon|spoons|kitchen|gray|1
bowl|bowls|kitchen|white|2
banana|bananas|food|yellow|1
apple|apples|food|red|1
sandwich|sandwiches|food|brown|1
orange|oranges|food|orange|1
broccoli|broccoli|food|green|1
carrot|carrots|food|orange|1
hot dog|hot dogs|food|brown|1
pizza|pizzas|food|yellow|2
donut|donuts|food|pink|1
cake|cakes|food|white|2
chair|chairs|furniture|brown|5
couch|couches|furniture|gray|7
potted plant|potted plants|furniture|green|4
bed|beds|furniture|white|7
dining table|dining tables|furniture|brown|7
toilet|toilets|furniture|white|5
tv|tvs|electronic|black|5
laptop|laptops|electronic|gray|3
mouse|mice|electronic|gray|1
remote|remotes|electronic|black|1
keyboard|keyboards|electronic|black|3
cell phone|cell phones|electronic|black|1
microwave|microwaves|appliance|white|4
oven|ovens|appliance|gray|6
toaster|toasters|appliance|gray|3
sink|sinks|appliance|white|5
refrigerator|refrigerators|appliance|white|7
book|books|indoor|blue|2
clock|clocks|indoor|white|3
vase|vases|indoor|blue|3
scissors|scissors|indoor|gray|1
teddy bear|teddy bears|indoor|brown|3
hair drier|hair driers|indoor|pink|2
toothbrush|toothbrushes|indoor|blue|1
star|stars|shape|yellow|3
heart|hearts|shape|red|2
balloon|balloons|toy|red|2
candle|candles|indoor|white|1
pencil|pencils|office|yellow|1
flower|flowers|plant|pink|1
tree|trees|plant|green|9
house|houses|building|brown|9
lamp|lamps|indoor|yellow|4
hat|hats|accessory|black|2
key|keys|indoor|yellow|1
leaf|leaves|plant|green|1
fish|fish|animal|orange|2
rabbit|rabbits|animal|white|3
mug|mugs|kitchen|white|1
lemon|lemons|food|yellow|1
strawberry|strawberries|food|red|1
cherry|cherries|food|red|1
grape|grapes|food|purple|1
egg|eggs|food|white|1
box|boxes|indoor|brown|3
shoe|shoes|accessory|black|2
sock|socks|accessory|white|1
glove|gloves|accessory|black|1
bell|bells|indoor|yellow|2
coin|coins|indoor|yellow|1
duck|ducks|animal|yellow|2
frog|frogs|animal|green|1
pig|pigs|animal|pink|5
lion|lions|animal|orange|7
mushroom|mushrooms|plant|red|1
cloud|clouds|sky|white|9
sun|suns|sky|yellow|9
moon|moons|sky|yellow|9
"""

# Irregular or multi-word names that users write differently.
_ALIASES = {
    "people": "person",
    "persons": "person",
    "man": "person",
    "woman": "person",
    "bike": "bicycle",
    "bikes": "bicycle",
    "motorbike": "motorcycle",
    "plane": "airplane",
    "aeroplane": "airplane",
    "sofa": "couch",
    "television": "tv",
    "tv set": "tv",
    "phone": "cell phone",
    "mobile phone": "cell phone",
    "doughnut": "donut",
    "hairdryer": "hair drier",
    "hair dryer": "hair drier",
    "ball": "sports ball",
    "table": "dining table",
    "fridge": "refrigerator",
    "plant": "potted plant",
    "glass": "wine glass",
    "puppy": "dog",
    "kitten": "cat",
    # GenEval's own names of three COCO classes (its prompts and object list use these)
    "computer mouse": "mouse",
    "computer keyboard": "keyboard",
    "tv remote": "remote",
}


@dataclass(frozen=True)
class ObjectClass:
    """One drawable, detectable object class."""

    code: int
    name: str
    plural: str
    category: str
    default_color: str
    size: int


@dataclass(frozen=True)
class NamedColor:
    """A palette color: the RGB the renderer paints and the name the detector reports."""

    name: str
    rgb: tuple[int, int, int]


#: The named-color palette (GenEval's ten colors plus gray). Detected colors are named by the
#: nearest of these in CIELAB.
PALETTE: tuple[NamedColor, ...] = (
    NamedColor("red", (220, 30, 35)),
    NamedColor("orange", (245, 135, 20)),
    NamedColor("yellow", (250, 220, 30)),
    NamedColor("green", (40, 160, 60)),
    NamedColor("blue", (35, 85, 215)),
    NamedColor("purple", (130, 50, 170)),
    NamedColor("pink", (245, 140, 190)),
    NamedColor("brown", (125, 75, 35)),
    NamedColor("black", (25, 25, 25)),
    NamedColor("white", (255, 255, 255)),
    NamedColor("gray", (135, 135, 135)),
)
COLOR_NAMES: tuple[str, ...] = tuple(c.name for c in PALETTE)
_COLOR_ALIASES = {"grey": "gray", "violet": "purple", "golden": "yellow", "gold": "yellow"}


@cache
def objects() -> tuple[ObjectClass, ...]:
    """Every object class, in code order."""
    rows = [line.split("|") for line in _OBJECT_TABLE.strip().splitlines()]
    return tuple(
        ObjectClass(i, name, plural, category, color, int(size))
        for i, (name, plural, category, color, size) in enumerate(rows)
    )


@cache
def _by_word() -> dict[str, ObjectClass]:
    table: dict[str, ObjectClass] = {}
    for obj in objects():
        table[obj.name] = obj
        table[obj.plural] = obj
    for alias, name in _ALIASES.items():
        table[alias] = table[name]
    return table


def lookup_object(word: str) -> ObjectClass | None:
    """The object class a singular, plural or alias name refers to, or None."""
    return _by_word().get(" ".join(word.lower().split()))


def object_by_code(code: int) -> ObjectClass | None:
    """The object class with this badge code, or None."""
    table = objects()
    return table[code] if 0 <= code < len(table) else None


def canonical_object(word: str) -> str:
    """Canonical singular name of an object word.

    Raises:
        KeyError: the word names no known object.
    """
    obj = lookup_object(word)
    if obj is None:
        raise KeyError(word)
    return obj.name


def canonical_color(word: str) -> str | None:
    """Canonical palette name for a color word, or None."""
    w = word.lower().strip()
    w = _COLOR_ALIASES.get(w, w)
    return w if w in COLOR_NAMES else None


def color_rgb(name: str) -> tuple[int, int, int]:
    """RGB of a palette color by name."""
    for color in PALETTE:
        if color.name == name:
            return color.rgb
    raise KeyError(name)


@cache
def object_pattern() -> re.Pattern[str]:
    """A regex matching any object word (longest names first), on word boundaries."""
    words = sorted(_by_word(), key=len, reverse=True)
    return re.compile(r"\b(" + "|".join(re.escape(w) for w in words) + r")\b", re.IGNORECASE)


def plural(name: str, count: int) -> str:
    """Object name inflected for ``count`` ("1 apple", "2 apples", "2 sheep")."""
    obj = lookup_object(name)
    if obj is None:
        raise KeyError(name)
    return obj.name if count == 1 else obj.plural

"""A Python node: the runtime builds Greeter(**init) once, then calls process() per item."""

import humanize


class Greeter:
    def __init__(self, greeting: str = "Hello") -> None:
        self.greeting = greeting
        self.seen = 0

    def process(self, item: dict) -> dict:
        self.seen += 1
        count = item["count"]
        return {
            "text": f"{self.greeting}, {item['name']}! {humanize.intcomma(count)} is {humanize.intword(count)}.",
            "ordinal": humanize.ordinal(self.seen),
        }

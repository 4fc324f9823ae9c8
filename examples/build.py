"""Build the example corpus in this folder (text written for thresher; run: python examples/build.py).

It holds something for every step: exact copies, near-copies, a document contained in another, repeated
paragraphs, boilerplate lines, and one broken JSON line that lands in quarantine."""

import json
from pathlib import Path

HERE = Path(__file__).parent

P = {
    "bees": "Honey bees keep the temperature of their brood nest between 34 and 36 degrees Celsius. "
            "When the hive grows too warm, workers fan their wings at the entrance and spread thin films "
            "of water over the comb, cooling it by evaporation much as sweat cools skin.",
    "bees2": "In winter the colony forms a tight cluster around the queen. Bees on the outside act as "
             "insulation while those inside shiver their flight muscles to make heat, slowly rotating "
             "so that no worker stays on the cold surface for too long.",
    "bread": "A sourdough starter is a culture of wild yeast and lactic acid bacteria living in flour and "
             "water. Feeding it at the same hour each day keeps the balance of microbes steady, which "
             "is why bakers talk about their starters as if they were pets.",
    "bread2": "Long, cool fermentation gives the bacteria time to produce acids that flavour the crumb. "
              "A loaf proofed overnight in the refrigerator tastes noticeably more sour than one baked "
              "the same afternoon, even when both use the same starter.",
    "rail": "The narrow-gauge railway climbs eleven hundred metres in under thirty kilometres, using two "
            "spiral tunnels and a switchback to gain height. Trains are limited to twenty kilometres per "
            "hour on the steepest grade, where the track rises one metre for every twenty-five.",
    "rail2": "Volunteers restored the line in the nineteen-nineties after it had been closed for two "
             "decades. They rebuilt three timber trestles by hand, replacing rotten beams with larch "
             "cut from the valley the railway was originally built to serve.",
    "tide": "Tides are caused mostly by the Moon's gravity pulling unevenly on the Earth. The side facing "
            "the Moon is pulled a little more strongly than the centre of the planet, and the far side a "
            "little less, which stretches the oceans into two bulges.",
    "tide2": "Twice a month, when the Sun and Moon line up, their pulls add together and produce spring "
             "tides with the largest range. At the quarter moons the pulls partly cancel, giving the "
             "smaller neap tides.",
    "code": "Before merging a change, run the full test suite locally and read your own diff once more. "
            "Most review comments point at things the author would have caught with a second look: a "
            "leftover debug print, a renamed variable that was missed in one place, a missing test.",
    "code2": "Small commits are easier to review and easier to revert. If a change needs a long "
             "explanation, split it: first the refactoring that changes no behaviour, then the change "
             "itself, so each step can be checked on its own.",
    "garden": "Tomatoes planted too early sit still in cold soil and sulk. Wait until night temperatures "
              "stay above ten degrees, then set the plants deep, burying part of the stem, which will "
              "grow roots along its buried length.",
    "garden2": "Water at the base of the plant in the morning rather than over the leaves in the evening. "
               "Wet foliage overnight invites blight, the fungal disease that can blacken a whole row of "
               "plants within a week of damp weather.",
    "bees3": "A strong colony can hold its brood at the right temperature through weeks of heat. Keepers "
             "help by giving shade in the afternoon and a shallow water dish with stones to land on. "
             "Without water nearby, foragers spend their day fetching it instead of nectar.",
    "bread3": "Flour matters as much as time. Whole rye feeds a starter faster than white wheat, because its "
              "bran carries more sugars and wild microbes. Many bakers keep a rye starter and build a wheat "
              "levain from it the night before baking.",
    "rail3": "Today the line carries tourists in summer and timber in winter. The old steam engine runs on "
             "weekends only, since the water tower at the summit holds enough for four trips. Diesel "
             "railcars cover the rest of the timetable.",
    "tide3": "Local coastlines change the picture a great deal. A long funnel-shaped bay can pile the water "
             "up into a range of ten metres or more. An enclosed sea barely notices the Moon at all.",
    "code3": "Write the commit message for the reviewer who reads it a year from now. Say why the change was "
             "needed, not only what it does. Link the issue, and mention anything you tried that did not "
             "work.",
    "garden3": "Pinch out the side shoots of cordon varieties once a week. Each shoot left to grow becomes "
               "a second stem that shades the fruit and slows ripening. Bush varieties need none of this "
               "and can be left alone.",
    "quote": "Quote from the original poster: I measured the hive at noon and the brood frames read 35 "
             "degrees even though the air outside was over 40. How do they manage that without any "
             "machinery at all?",
}

BOILER_TOP = "Home > Articles > Archive\nLog in or register to post comments\n\n"
BOILER_END = "\n\nShare this\nPrint Share Comment\nAll rights reserved. Terms of use | Privacy policy\n"


def article(*keys, top=True, end=True):
    body = "\n\n".join(P[k] for k in keys)
    return (BOILER_TOP if top else "") + body + (BOILER_END if end else "")


def near(text):
    """A near-copy: a few words changed, a sentence dropped, as a re-post or a new edition would be."""
    return (text.replace("between 34 and 36", "at about 35")
                .replace("much as sweat cools skin", "much as sweat cools our skin")
                .replace("spiral tunnels", "spiralling tunnels")
                .replace(" Feeding it at the same hour each day keeps the balance of microbes steady, which "
                         "is why bakers talk about their starters as if they were pets.", ""))


def main():
    txt = HERE / "web"
    txt.mkdir(exist_ok=True)
    docs = {
        "bees-cooling": article("bees", "bees2", "bees3"),
        "bees-cooling-copy": article("bees", "bees2", "bees3"),                  # exact copy
        "bees-cooling-reposted": near(article("bees", "bees2", "bees3")),        # near copy
        "sourdough": article("bread", "bread2", "bread3"),
        "sourdough-second-edition": near(article("bread", "bread2", "bread3")),
        "mountain-railway": article("rail", "rail2", "rail3"),
        "mountain-railway-mirror": article("rail", "rail2", "rail3"),           # exact copy
        "tides-explained": article("tide", "tide2", "tide3"),
        "tides-short": P["tide"] + "\n",                                 # contained in tides-explained
        "code-review": article("code", "code2", "code3"),
        "tomatoes": article("garden", "garden2", "garden3"),
        "tomatoes-whitespace": article("garden", "garden2", "garden3").replace("\n\n", "\n  \n\n"),  # same after folding
        "digest": article("bees", "rail", "garden", top=False),        # repeated paragraphs from others
    }
    for name, text in docs.items():
        (txt / f"{name}.txt").write_text(text, encoding="utf-8")

    posts = [
        {"id": "t1-p1", "url": "https://forum.example/t/1", "author": "ana", "text": P["quote"]},
        {"id": "t1-p2", "url": "https://forum.example/t/1", "author": "ben",
         "text": P["quote"] + "\n\n" + P["bees"]},
        {"id": "t1-p3", "url": "https://forum.example/t/1", "author": "cai",
         "text": P["quote"] + "\n\n" + P["bees"] + "\n\n" + P["bees2"]},
        {"id": "t1-p4", "url": "https://forum.example/t/1", "author": "ana", "text": "Thanks, that helps!"},
        {"id": "t2-p1", "url": "https://forum.example/t/2", "author": "dee",
         "text": article("code", "code2", top=False)},
        {"id": "t2-p2", "url": "https://forum.example/t/2", "author": "eli",
         "text": article("code", "code2", top=False)},                  # exact copy across posts
        {"id": "t3-p1", "url": "https://forum.example/t/3", "author": "fay", "text": P["bread2"],
         "tags": ["baking", "fermentation"]},
        {"id": "t3-p2", "url": "https://forum.example/t/3", "author": "gus",
         "text": P["bread2"] + "\n\nSame here: mine is far more sour after a night in the fridge.",
         "tags": ["baking"]},
        {"id": "t4-p1", "url": "https://forum.example/t/4", "author": "hal", "text": P["tide2"]},
        {"id": "t4-p2", "url": "https://forum.example/t/4", "author": "ivy", "text": P["tide2"]},
        {"id": "t5-p1", "url": "https://forum.example/t/5", "author": "jo", "text": P["rail2"] +
         "\n\nLast edited: 3 March\nReply\nReport"},
        {"id": "t5-p2", "url": "https://forum.example/t/5", "author": "kim", "text": P["rail"] +
         "\n\nLast edited: 4 March\nReply\nReport"},
    ]
    with open(HERE / "forum.jsonl", "w", encoding="utf-8") as fh:
        for post in posts[:6]:
            fh.write(json.dumps(post, ensure_ascii=False) + "\n")
        fh.write('{"id": "t2-p3", "url": "https://forum.example/t/2", "text": "a post cut off in the mid\n')
        for post in posts[6:]:
            fh.write(json.dumps(post, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()

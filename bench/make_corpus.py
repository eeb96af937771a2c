"""Writes tests/data/comments.jsonl: labelled ham and spam comments, made up for the tests.

Each line is {"label": "ham" | "spam", "name", "email", "website", "body"}. The comments are
generated from templates with a fixed seed, so the file is the same on every run:

    python bench/make_corpus.py

They read like the comments under a personal blog (cooking, gardening, travel, programming,
photography, cycling) and like the spam such blogs get (pharmacy, casinos, loans, crypto, SEO
offers, fake praise with a link, replica goods, text in another script). Being generated, they
are more regular than real comments: figures measured on them flatter any filter.
"""
import json
import random
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "comments.jsonl"
rng = random.Random(20261201)

FIRST = ["Anna", "Ben", "Chloe", "David", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kate", "Liam",
         "Maya", "Nico", "Olga", "Pedro", "Quinn", "Rosa", "Sam", "Tara", "Umar", "Vera", "Will", "Yara", "Zoe",
         "Marta", "Tom", "Priya", "Lukas", "Aisha"]
LAST = ["Berg", "Costa", "Dubois", "Evans", "Fischer", "Garcia", "Hughes", "Ito", "Jensen", "Kowalski", "Lopez",
        "Moreau", "Novak", "Okafor", "Patel", "Rossi", "Schmidt", "Tanaka", "Weber", "Young"]
TOPICS = {
    "cooking": {
        "things": ["the sourdough starter", "the lentil soup", "your pie crust", "the risotto", "the spice blend",
                   "the focaccia", "the pickled onions", "this curry", "the braised beans", "your granola"],
        "details": ["I used half the salt and it was still great", "I swapped the butter for olive oil",
                    "mine needed ten more minutes in the oven", "my kids asked for seconds",
                    "I only had red onions, which worked fine", "it froze well for a week",
                    "I doubled the garlic, no regrets", "the dough was stickier than in your photos"],
        "questions": ["Can I make it a day ahead?", "Would whole wheat flour work here?",
                      "How long does it keep in the fridge?", "Is there a way to make it without a mixer?",
                      "What size of pan did you use?"],
    },
    "gardening": {
        "things": ["the raised beds", "your tomato trellis", "the compost bin", "the herb spiral",
                   "the seed schedule", "the rain barrel", "those dahlias", "the mulching tips"],
        "details": ["our clay soil makes it harder", "the slugs got to mine first", "I started a month later",
                    "we are in a much colder zone", "the basil went to seed in July",
                    "the neighbours have started copying it"],
        "questions": ["When do you cut them back?", "Do you water in the morning or evening?",
                      "What do you do about aphids?", "How deep should the beds be?"],
    },
    "travel": {
        "things": ["the train route", "your itinerary", "the hike to the lake", "the night market",
                   "the coastal road", "the museum list", "the ferry crossing", "that little guesthouse"],
        "details": ["we went in October and it was quiet", "the bus times have changed since",
                    "we took the same path last summer", "bring cash, the card machines were down",
                    "the view at sunrise was worth the early start", "our kids loved the boat part"],
        "questions": ["How many days would you suggest?", "Did you need to book ahead?",
                      "Is it doable without a car?", "Was it busy on weekends?"],
    },
    "programming": {
        "things": ["the SQLite tip", "your explanation of closures", "the regex example", "the test fixture trick",
                   "the migration script", "the profiling section", "the async example", "the git workflow"],
        "details": ["it fixed a bug I had for days", "we use something similar at work",
                    "the second example has a typo in the loop", "it also works on Python 3.11",
                    "I had to add an index to make it fast", "the benchmark numbers match mine"],
        "questions": ["Does this also work with PostgreSQL?", "How would you test the error path?",
                      "Is there a reason you avoided an ORM here?", "Would you still do it this way today?"],
    },
    "photography": {
        "things": ["the golden hour shots", "your lens comparison", "the black and white series",
                   "the editing walkthrough", "the tripod review", "the street photos"],
        "details": ["the third photo is my favourite", "I tried the same settings on my old camera",
                    "the colours look great on my screen", "the grain gives it a film feel"],
        "questions": ["What aperture did you use?", "Do you shoot in RAW?", "Which editor do you use?"],
    },
    "cycling": {
        "things": ["the gravel route", "your tubeless setup", "the winter gloves review", "the climb you described",
                   "the bike packing list", "the chain cleaning tip"],
        "details": ["the last section is muddy after rain", "I rode it on Sunday with friends",
                    "my knees did not thank me", "the café at the top is closed on Mondays"],
        "questions": ["What tyre pressure do you run?", "How long did the whole loop take?",
                      "Would it work on a road bike?"],
    },
}
OPENERS = ["Thanks for writing this up.", "Lovely post.", "This was really helpful.", "Great write-up!",
           "I tried this last weekend.", "Interesting read.", "I have been following this series.",
           "Small correction:", "Funny, I was just thinking about this.", "Just a note from a long-time reader.",
           "", "", ""]
CLOSERS = ["Thanks again!", "Looking forward to the next one.", "Cheers,", "Keep it up.", "", "", "",
           "Have a good week!"]

SPAM_PRODUCTS = {
    "pharmacy": (["cheap viagra", "cialis online", "buy tramadol", "generic pills", "weight loss pills",
                  "no prescription meds"], ["pharmacy", "meds", "pills-online", "rx-discount"]),
    "casino": (["online casino", "free spins", "best slots", "casino bonus", "poker bonus", "sports betting"],
               ["casino", "slots", "betwin", "spins"]),
    "loans": (["payday loans", "fast cash loans", "bad credit loans", "instant loan approval"],
              ["loans", "cashnow", "quickcredit"]),
    "crypto": (["bitcoin doubler", "crypto signals", "forex robot", "passive income crypto",
                "guaranteed trading profits"], ["cryptoprofit", "btc-x", "forexpro"]),
    "seo": (["SEO services", "backlinks package", "rank #1 on Google", "guest post service", "website traffic"],
            ["seo-boost", "linkbuilder", "rankfast"]),
    "replica": (["replica watches", "cheap designer bags", "discount sneakers", "knockoff handbags"],
                ["replicas", "luxurydeals", "outlet-shop"]),
}
HONEST_SHOP_TALK = [
    "The link to the shop in your post is broken, by the way.", "I got the cheap version and it works fine.",
    "The free shipping offer on those seeds ended last week.", "Is the 100% rye version any good?",
    "Not an ad, but the local market has the best price on these.", "Click here links in newsletters scare me too.",
]
QUIET = ["Very nice article, thanks for sharing.", "Great post, keep it up!", "Nice information, thank you.",
         "I really like this blog.", "Thanks for the useful post.", "Awesome article, bookmarked!",
         "Good content, thanks admin.", "This is very helpful, thank you."]
TLDS = ["com", "net", "xyz", "top", "biz", "online", "shop", "info"]
PRAISE = ["Great post! ", "Very informative article. ", "Nice blog, ", "I like your website! ",
          "Thank you for sharing this information. ", "Wow, amazing content. ", "Good job admin. ",
          "This is exactly what I was looking for. ", "I bookmarked your site. ", ""]
CTA = ["Check out my site", "Visit us for more", "Click here", "Read more here", "See our offer",
       "Get yours today", "Limited offer", "Order now", "Sign up here"]
FOREIGN = [
    "Лучшие цены на {p}, заходите на {u} прямо сейчас",
    "Купить {p} недорого с доставкой: {u}",
    "最好的{p}网站 {u} 马上注册",
    "免费获得{p}，请访问 {u}",
    "Заработок в интернете без вложений {u}",
]


def name():
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def email_for(person):
    first, last = person.lower().split()
    return f"{first}.{last}@{rng.choice(['example.org', 'mail.example.com', 'post.example.net'])}"


def ham():
    topic = TOPICS[rng.choice(list(TOPICS))]
    parts = [rng.choice(OPENERS)]
    shape = rng.random()
    if shape < 0.4:
        parts.append(f"I made {rng.choice(topic['things'])} and {rng.choice(topic['details'])}.")
    elif shape < 0.7:
        parts.append(f"About {rng.choice(topic['things'])}: {rng.choice(topic['details'])}.")
        parts.append(rng.choice(topic["questions"]))
    else:
        parts.append(rng.choice(topic["questions"]))
        parts.append(f"Also, {rng.choice(topic['details'])}.")
    if rng.random() < 0.12:
        parts.append(f"I wrote about it too: https://{rng.choice(LAST).lower()}.example.org/notes")
    if rng.random() < 0.1:  # honest comments use shop words too
        parts.append(rng.choice(HONEST_SHOP_TALK))
    parts.append(rng.choice(CLOSERS))
    person = name()
    return {"label": "ham", "name": person, "email": email_for(person),
            "website": f"https://{person.split()[1].lower()}.example.org" if rng.random() < 0.25 else None,
            "body": " ".join(p for p in parts if p)}


def spam_url(slugs):
    path = rng.choice(["", "buy", "promo", "go"])
    return f"https://{rng.choice(slugs)}{rng.randint(1, 999)}.{rng.choice(TLDS)}/{path}"


def spam():
    kind = rng.choice(list(SPAM_PRODUCTS) + ["flattery", "foreign", "quiet"])
    if kind == "quiet":  # praise that says nothing, its payload the author's website: hard to tell
        products, slugs = SPAM_PRODUCTS[rng.choice(list(SPAM_PRODUCTS))]
        url = spam_url(slugs)
        return {"label": "spam", "name": rng.choice(FIRST), "email": f"{rng.choice(FIRST).lower()}@{url.split('/')[2]}",
                "website": url, "body": rng.choice(QUIET)}
    if kind == "foreign":
        products, slugs = SPAM_PRODUCTS[rng.choice(list(SPAM_PRODUCTS))]
        body = rng.choice(FOREIGN).format(p=rng.choice(products), u=spam_url(slugs))
        person = rng.choice(["Иван", "Ольга", "李伟", "王芳", "Sergey"])
        return {"label": "spam", "name": person, "email": f"user{rng.randint(100, 9999)}@mail.{rng.choice(TLDS)}",
                "website": spam_url(slugs), "body": body}
    if kind == "flattery":
        products, slugs = SPAM_PRODUCTS[rng.choice(list(SPAM_PRODUCTS))]
        url = spam_url(slugs)
        compliment = rng.choice(["I will share it with my friends.", "Keep posting such articles.",
                                 "Your writing style is awesome.", "Very useful for me."])
        body = f"{rng.choice(PRAISE)}{compliment} {rng.choice(CTA)}: {url}"
        return {"label": "spam", "name": rng.choice(products).title(), "email": f"info@{url.split('/')[2]}",
                "website": url, "body": body}
    products, slugs = SPAM_PRODUCTS[kind]
    product = rng.choice(products)
    urls = [spam_url(slugs) for _ in range(rng.randint(1, 4))]
    lines = [f"{rng.choice(PRAISE)}{rng.choice(CTA)} for {product}: {urls[0]}"]
    for url in urls[1:]:
        lines.append(f"{rng.choice(products).capitalize()} - {url}")
    if rng.random() < 0.5:
        lines.append(f"{product.upper()} {rng.choice(['best price', '100% guaranteed', 'free shipping', 'no risk'])}!")
    return {"label": "spam", "name": product.title(), "email": f"sales{rng.randint(1, 99)}@{urls[0].split('/')[2]}",
            "website": urls[0], "body": "\n".join(lines)}


def main():
    rows = [ham() for _ in range(520)] + [spam() for _ in range(520)]
    rng.shuffle(rows)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    print(f"wrote {len(rows)} comments to {OUT}")


if __name__ == "__main__":
    main()

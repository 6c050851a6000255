"""A fixed bank of general questions about everyday subjects, asked of every index to learn where questions it
cannot answer land (retrieval/calibration.py). Written once, before any corpus it is used on was looked at;
changing it changes every index's abstention floor (the calibration stored with a build is then asked again)."""

from __future__ import annotations

BANK: tuple[str, ...] = (
    # cooking and food
    "How do I descale a kettle?",
    "What can I use instead of buttermilk in pancakes?",
    "How do you keep guacamole from turning brown?",
    "Which spices go into a garam masala blend?",
    "How long does cooked rice keep in the fridge?",
    "What is the difference between baking soda and baking powder?",
    # home and garden
    "When should I prune an apple tree?",
    "How often should I water a cactus in winter?",
    "How do I get rid of aphids on roses?",
    "What is the best way to remove a red wine stain from a carpet?",
    "How do I bleed air out of a radiator?",
    "How do I unblock a kitchen sink?",
    # health and body
    "How many hours of sleep does a teenager need?",
    "What are the early symptoms of chickenpox?",
    "Is it healthy to drink eight glasses of water a day?",
    "Is it safe to take ibuprofen with paracetamol?",
    "What causes hiccups and how do you stop them?",
    "How many calories does a 30-minute swim burn?",
    # science and nature
    "Why is the sky blue?",
    "How far is the Moon from the Earth?",
    "What is the boiling point of water at the top of Everest?",
    "How do bees make honey?",
    "Why do cats purr?",
    "How long do giant tortoises live?",
    "What is the largest desert in the world?",
    "How are rainbows formed?",
    "What is the chemical formula of table salt?",
    "How many bones are there in the adult human body?",
    # history and culture
    "Who painted the ceiling of the Sistine Chapel?",
    "When did the Roman Empire fall?",
    "Who invented the telephone?",
    "Which pharaoh was buried with a golden death mask?",
    "What language is spoken in Brazil?",
    "In which city is the Taj Mahal?",
    "Who composed the Four Seasons?",
    "What were the causes of the French Revolution?",
    "Who was the first person to walk on the Moon?",
    # sport and games
    "How many players are on a water polo team?",
    "What is the offside rule in ice hockey?",
    "How long is a marathon in miles?",
    "Who holds the record for the most chess world championship titles?",
    "How is a tennis tiebreak scored?",
    # money, law and everyday life
    "How do I renew my passport?",
    "What is the blood alcohol limit for drivers in France?",
    "How do I change a flat tyre on a bicycle?",
    "What is compound interest?",
    "How much should I tip a taxi driver in New York?",
    "How do I get a fishing licence?",
    "What is the legal drinking age in Japan?",
    "How do I write a letter of resignation?",
    # travel and geography
    "What is the national dish of Hungary?",
    "Which is the longest river in South America?",
    "Do I need a visa to visit Iceland?",
    "What is the time difference between London and Tokyo?",
    "What currency is used in Switzerland?",
    "Which mountain range separates Spain from France?",
    # arts, music and hobbies
    "How many strings does a cello have?",
    "What is the difference between watercolour and gouache?",
    "How do you cast on when knitting?",
    "What key is Beethoven's Fifth Symphony in?",
    "How do I care for a bonsai tree?",
    "What film won the Oscar for best animated feature in 1995?",
    # animals and pets
    "How often should a dog be vaccinated?",
    "What do hedgehogs eat?",
    "How long can a goldfish live?",
    "Why do birds migrate south in winter?",
    # weather and the sky
    "What is the difference between a hurricane and a typhoon?",
    "How do I read a barometer?",
    "When is the next total solar eclipse visible from Europe?",
    "How long does light from the Sun take to reach us?",
    # vehicles and machines
    "How often should I change the oil in my car?",
    "What does a carburettor do?",
    "How does a jet engine produce thrust?",
    "How do I jump-start a car battery?",
    # miscellaneous knowledge
    "How many teaspoons are in a tablespoon?",
    "What is the tallest building in the world?",
    "How do you say thank you in Finnish?",
    "What is the plural of octopus?",
    "How do I fold a paper crane?",
)

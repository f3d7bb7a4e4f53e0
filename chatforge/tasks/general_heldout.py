"""General knowledge of other kinds: the forgetting guard's held-out family.

The `general` set (tasks/general.py) is mostly capitals, asked one way. A run may do something
for exactly that kind of question (the replay asks real-world questions of its own kinds), and
then that set alone would say "kept" where knowledge of other kinds went. These are facts of the
kinds neither the `general` set nor the replay (importer/questions.py) asks about: science,
rivers and landmarks, books and music, inventions, history's years, sport, food, myths, numbers
of things: 218, of which the suite asks the first 200. No subject or answer of the replay's
questions is asked or accepted here, and no question repeats a `general` one
(tests/test_replay.py). Answers accept every form after "/".
"""

from __future__ import annotations

FACTS = """Which gas makes up most of the air we breathe?|nitrogen
Name the chemical element with the symbol Fe.|iron
Which element has the chemical symbol Na?|sodium
Which metal has the chemical symbol Ag?|silver
Which metal has the chemical symbol Cu?|copper
Which light gas is used to fill party balloons so they float?|helium
Which metal is liquid at room temperature?|mercury
How many planets are in the solar system?|8/eight
Which planet is famous for its rings?|Saturn
Which planet is the third from the Sun?|Earth
Which is the hottest planet in the solar system?|Venus
Which planet has the Great Red Spot?|Jupiter
What is the name of our galaxy?|Milky Way
What force pulls objects toward the ground?|gravity
Which part of a plant makes food from sunlight?|leaf/leaves
What do caterpillars turn into?|butterfly/butterflies/moth
Which organs do humans breathe with?|lungs/lung
Which organ filters the blood to make urine?|kidney/kidneys
How many bones are in the adult human body?|206
What is the largest organ of the human body?|skin
Which blood cells carry oxygen around the body?|red/erythrocytes
What is the center of an atom called?|nucleus
What is frozen water called?|ice
Which vitamin does the skin make in sunlight?|vitamin d
What do you call an animal that eats only plants?|herbivore/herbivores/herbivorous
What do you call an animal that eats only meat?|carnivore/carnivores/carnivorous
Which is the fastest land animal?|cheetah/cheetahs
Which bird is a symbol of peace?|dove/doves
What is a baby cat called?|kitten/kittens
What is a baby dog called?|puppy/puppies/pup
What is a baby sheep called?|lamb/lambs
What is a group of lions called?|pride
Which insect makes silk?|silkworm/silkworms/silk moth
How many legs does an insect have?|6/six
What is the largest bird in the world?|ostrich/ostriches
What is the largest species of cat?|tiger/tigers
What tree do acorns come from?|oak
Which plant is the tallest kind of grass?|bamboo
What is the longest river in South America?|Amazon
What is the longest river in Europe?|Volga
Which river flows through London?|Thames
Which river flows through Paris?|Seine
What is the largest continent?|Asia
What is the smallest continent?|Australia/Oceania
Which ocean lies between Europe and North America?|Atlantic
Which ocean surrounds the North Pole?|Arctic
Which continent lies around the South Pole?|Antarctica
What is the largest island in the world?|Greenland
In which mountain range is Mount Everest?|Himalaya/Himalayas
Which mountains divide Europe from Asia?|Ural/Urals
Which sea lies between Europe and Africa?|Mediterranean
What is the imaginary line around the middle of the Earth called?|equator
What is the largest rainforest in the world?|Amazon
Which country is shaped like a boot?|Italy
In which country is the Taj Mahal?|India
In which city is the Colosseum?|Rome
In which city is the Statue of Liberty?|New York
Which country gave the Statue of Liberty to the United States?|France
In which city is Big Ben?|London
In which country is Machu Picchu?|Peru
In which country is Stonehenge?|England/United Kingdom/UK/Britain
In which city is the Kremlin?|Moscow
In which country is the Acropolis?|Greece/Athens
In which city is the Brandenburg Gate?|Berlin
In which town is the famous leaning tower?|Pisa
In which country is Mount Fuji?|Japan
In which city is the headquarters of the United Nations?|New York
Which city is called the Big Apple?|New York
Which city is called the City of Light?|Paris
Which US state is called the Sunshine State?|Florida
Which is the largest US state by area?|Alaska
Which country has a maple leaf on its flag?|Canada
Which country's flag is a red circle on a white background?|Japan
Which country is famous as the home of samba?|Brazil
In which country did the tango begin?|Argentina
In which country did the ancient Olympic Games begin?|Greece
Which country has the most people?|India/China
Which language do most people in Mexico speak?|Spanish
Which language do most people in Egypt speak?|Arabic
Which language do most people in Austria speak?|German
Which language do most people in Quebec speak?|French
Which language has the most native speakers?|Chinese/Mandarin
Which currency is used in the United States?|dollar/dollars
Which currency do most countries of the European Union use?|euro/euros
Which currency is used in India?|rupee/rupees
In which year did the Second World War end?|1945
In which year did the First World War begin?|1914
In which year did people first land on the Moon?|1969
In which year did the Titanic sink?|1912
Which ship sank in 1912 after hitting an iceberg?|Titanic
Who was the first person to travel into space?|Gagarin
Who wrote the Harry Potter books?|Rowling
Who wrote Don Quixote?|Cervantes
Who wrote The Divine Comedy?|Dante/Alighieri
Which author wrote the novel 1984?|Orwell
Who wrote The Lord of the Rings?|Tolkien
Who wrote the stories about Sherlock Holmes?|Doyle
Who wrote Alice's Adventures in Wonderland?|Carroll
Who wrote The Little Prince?|Exupery/Exupéry
Who wrote Charlie and the Chocolate Factory?|Dahl
Who composed The Four Seasons?|Vivaldi
Who composed the music for the ballet Swan Lake?|Tchaikovsky
Who painted The Scream?|Munch
Who made the sculpture The Thinker?|Rodin
Who invented the telephone?|Bell
Who invented the World Wide Web?|Berners-Lee
Who founded Microsoft with Paul Allen?|Gates
Who founded Apple with Steve Wozniak?|Jobs
Which company makes the iPhone?|Apple
Which company makes the Windows operating system?|Microsoft
Who was the Greek god of the sea?|Poseidon
Who was the king of the Greek gods?|Zeus
Who is the Norse god of thunder?|Thor
Which Greek hero could only be wounded in his heel?|Achilles
Who built the ark in the Bible?|Noah
What is the holy book of Islam?|Quran/Koran/Qur'an
What is the name of the fairy in Peter Pan?|Tinker Bell/Tinkerbell
What is the name of Mickey Mouse's girlfriend?|Minnie
Which superhero is called the Dark Knight?|Batman
What substance makes Superman weak?|kryptonite
What is the name of Harry Potter's school?|Hogwarts
How many players does a soccer team have on the field?|11/eleven
How many players does a basketball team have on the court?|5/five
In which sport is a shuttlecock used?|badminton
How many rings are on the Olympic flag?|5/five
How many squares are on a chessboard?|64/sixty-four
Which chess piece moves only diagonally?|bishop
In which sport do players score touchdowns?|football
How often are the Summer Olympic Games held?|4/four
Which sport is the Tour de France?|cycling/cyclists/bike
Which sport is played at Wimbledon?|tennis
How many hours are in a day?|24/twenty-four
How many months are in a year?|12/twelve
How many days are in a leap year?|366
How many centimeters are in a meter?|100/hundred
How many grams are in a kilogram?|1000/1,000/thousand
How many sides does an octagon have?|8/eight
What is the value of pi to two decimal places?|3.14
How many degrees are in a right angle?|90/ninety
How many degrees are in a full circle?|360
How many years are in a century?|100/hundred
How many years are in a decade?|10/ten
How many weeks are in a year?|52/fifty-two
Which month has the fewest days?|February
What is the first month of the year?|January
How many colors are in a rainbow?|7/seven
How many letters are in the English alphabet?|26/twenty-six
What color is a ripe banana?|yellow
What color is the sky on a clear day?|blue
What color do you get by mixing red and white?|pink
Which fruit is said to keep the doctor away?|apple
What is the main ingredient of bread?|flour/wheat
Which vegetable makes people cry when they cut it?|onion/onions
What is sushi often wrapped in?|seaweed/nori
Which country is pizza from?|Italy
Which nut is marzipan made from?|almond/almonds
What is hummus made from?|chickpea/chickpeas/garbanzo
What is tofu made from?|soy/soya/soybean/soybeans
Which drink is made by fermenting grapes?|wine
What is the plural of mouse?|mice
What is the opposite of hot?|cold
Which day comes after Monday?|Tuesday
Which instrument with six strings is played in most rock bands?|guitar
Which holiday is celebrated on December 25?|Christmas
What do bees collect from flowers?|nectar/pollen
Which red gemstone is the birthstone of July?|ruby
What is glass mainly made from?|sand/silica
What do you call a scientist who studies rocks?|geologist
What do you call a doctor who looks after teeth?|dentist
What is the study of living things called?|biology
What is the study of the stars and planets called?|astronomy
Which element has the chemical symbol K?|potassium
Which element has the chemical symbol H?|hydrogen
Which metal has the chemical symbol Pb?|lead
What is a word that means the opposite of another word called?|antonym
What is a word that means the same as another word called?|synonym
How many strings does a standard violin have?|4/four
What is the first book of the Bible?|Genesis
Who was the first man in the Bible?|Adam
Who was the Roman god of love?|Cupid
Who was the Greek goddess of wisdom?|Athena
In which city is the Louvre museum?|Paris
In which country is the ancient city of Petra?|Jordan
In which country is Angkor Wat?|Cambodia
In which country are the Galapagos Islands?|Ecuador
Which famous waterfalls lie between Canada and the United States?|Niagara
What is the famous canyon in Arizona called?|Grand Canyon
What is the deepest trench in the ocean?|Mariana/Marianas
Which river flows through Rome?|Tiber
Which river flows through Vienna?|Danube
What is the largest country in South America?|Brazil
Which country is called the Land of the Rising Sun?|Japan
What is the hot liquid rock that flows from a volcano called?|lava
What is the longest bone in the human body?|femur/thigh
How many teeth does an adult human usually have?|32/thirty-two
Which sense do we use the nose for?|smell
Which lizard can change its color?|chameleon/chameleons
Which insect glows in the dark?|firefly/fireflies/glow-worm
How many legs does a crab have?|10/ten
Which board game is about buying streets and hotels?|Monopoly
How many cards are in a standard deck without jokers?|52/fifty-two
In which sport do players hit a puck?|hockey
In golf, what is a score of one under par called?|birdie
Which season comes after winter?|spring
Which long orange vegetable grows under the ground?|carrot/carrots
What kind of food is cheddar?|cheese
Which expensive spice comes from crocus flowers?|saffron
Which drink is brewed from barley and hops?|beer
Who wrote Frankenstein?|Shelley
Who wrote Moby-Dick?|Melville
Who painted Girl with a Pearl Earring?|Vermeer
Which brothers flew the first powered airplane?|Wright
Who was the first person to reach the South Pole?|Amundsen
Who invented dynamite?|Nobel
Which social network did Mark Zuckerberg start?|Facebook
In which city does Batman live?|Gotham
What is the name of Sherlock Holmes's friend and helper?|Watson
What is the name of the gloomy donkey in Winnie-the-Pooh?|Eeyore"""


def questions() -> list[dict]:
    """Every item: {"question", "answer", "attribute"} in a fixed order (the checker reads the
    attribute "general": any form after "/" counts)."""
    out = []
    for line in FACTS.splitlines():
        q, _, a = line.partition("|")
        out.append({"question": q.strip(), "answer": a.strip(), "attribute": "general"})
    return out

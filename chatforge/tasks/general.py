"""General knowledge a pretrained model brings with it: the forgetting guard for an imported model.

Teaching a small model a new world must not erase what it knew. These are real-world facts a
135M model trained on the web mostly knows (capitals, planets, authors, units), asked as short
questions with its accepted answers ("Kyiv/Kiev": either). The eval table's column is the plain accuracy;
the smol track reads it against the imported model's own row: of the items the model as imported
answered right, the share each later stage still answers right (docs/smol.md).
"""

from __future__ import annotations

CAPITALS = """France Paris|Germany Berlin|Italy Rome|Spain Madrid|Portugal Lisbon|Japan Tokyo|China Beijing
|Russia Moscow|Egypt Cairo|Greece Athens|Austria Vienna|Poland Warsaw|Norway Oslo|Sweden Stockholm
|Finland Helsinki|Denmark Copenhagen|Ireland Dublin|the United Kingdom London|Belgium Brussels
|the Netherlands Amsterdam|Hungary Budapest|the Czech Republic Prague|Thailand Bangkok
|South Korea Seoul|Kenya Nairobi|Argentina Buenos Aires|Peru Lima|Chile Santiago
|Colombia Bogota/Bogotá|Mexico Mexico City|Cuba Havana|Iran Tehran|Iraq Baghdad|Afghanistan Kabul
|Saudi Arabia Riyadh|Indonesia Jakarta|the Philippines Manila|Vietnam Hanoi|Ukraine Kyiv/Kiev
|Romania Bucharest|Bulgaria Sofia|Serbia Belgrade|Croatia Zagreb|Iceland Reykjavik/Reykjavík
|Switzerland Bern|Canada Ottawa|Australia Canberra|New Zealand Wellington|India New Delhi
|Pakistan Islamabad|Bangladesh Dhaka|Nepal Kathmandu|Ethiopia Addis Ababa|Nigeria Abuja|Ghana Accra
|Morocco Rabat|Algeria Algiers|Tunisia Tunis|Libya Tripoli|Sudan Khartoum|Turkey Ankara
|Syria Damascus|Lebanon Beirut|Jordan Amman|Israel Jerusalem|Qatar Doha|Malaysia Kuala Lumpur
|Singapore Singapore|Venezuela Caracas|Ecuador Quito|Bolivia La Paz|Uruguay Montevideo
|Paraguay Asuncion/Asunción|Brazil Brasilia/Brasília|Jamaica Kingston|Scotland Edinburgh
|Wales Cardiff|Lithuania Vilnius|Latvia Riga|Estonia Tallinn|Slovakia Bratislava|Slovenia Ljubljana
|Albania Tirana|Belarus Minsk|Georgia Tbilisi|Armenia Yerevan|Mongolia Ulaanbaatar
|Cambodia Phnom Penh|Laos Vientiane|Sri Lanka Colombo|Zimbabwe Harare|Uganda Kampala|Tanzania Dodoma
|Senegal Dakar|Angola Luanda|Mozambique Maputo|Madagascar Antananarivo|North Korea Pyongyang
|Taiwan Taipei|Luxembourg Luxembourg|Monaco Monaco|Malta Valletta|Cyprus Nicosia|Kazakhstan Astana
|Uzbekistan Tashkent|Panama Panama City|Costa Rica San Jose/San José|Honduras Tegucigalpa
|Nicaragua Managua|Guatemala Guatemala City|Kuwait Kuwait City|Oman Muscat|Yemen Sanaa
|Bahrain Manama|Myanmar Naypyidaw|Bhutan Thimphu|Kyrgyzstan Bishkek|Tajikistan Dushanbe
|Turkmenistan Ashgabat|Azerbaijan Baku|Moldova Chisinau|North Macedonia Skopje|Montenegro Podgorica
|Bosnia and Herzegovina Sarajevo|Liechtenstein Vaduz|Andorra Andorra la Vella|San Marino San Marino
|Rwanda Kigali|Burundi Gitega|Somalia Mogadishu|Eritrea Asmara|Djibouti Djibouti|Chad N'Djamena
|Niger Niamey|Mali Bamako|Mauritania Nouakchott|Gambia Banjul|Guinea Conakry|Sierra Leone Freetown
|Liberia Monrovia|Togo Lome/Lomé|Benin Porto-Novo|Cameroon Yaounde/Yaoundé|Gabon Libreville
|Zambia Lusaka|Malawi Lilongwe|Botswana Gaborone|Namibia Windhoek|Lesotho Maseru
|Haiti Port-au-Prince|the Dominican Republic Santo Domingo|El Salvador San Salvador
|the Bahamas Nassau|Fiji Suva|Papua New Guinea Port Moresby"""

FACTS = [
    ("What is the largest planet in the solar system?", "Jupiter"),
    ("Which planet is known as the Red Planet?", "Mars"),
    ("Which planet is closest to the Sun?", "Mercury"),
    ("What is the closest star to Earth?", "Sun"),
    ("What is the natural satellite of the Earth called?", "Moon"),
    ("Who wrote Romeo and Juliet?", "Shakespeare"),
    ("Who wrote Hamlet?", "Shakespeare"),
    ("Who painted the Mona Lisa?", "Leonardo/da Vinci"),
    ("Who developed the theory of relativity?", "Einstein"),
    ("Who proposed the theory of evolution by natural selection?", "Darwin"),
    ("What is the chemical symbol for gold?", "Au"),
    ("What is the chemical symbol for water?", "H2O"),
    ("What gas do plants absorb from the air for photosynthesis?", "carbon dioxide"),
    ("What gas do humans need to breathe to live?", "oxygen"),
    ("At what temperature in degrees Celsius does water freeze?", "0/zero"),
    ("At what temperature in degrees Celsius does water boil at sea level?", "100/one hundred"),
    ("How many days are there in a week?", "7/seven"),
    ("How many continents are there?", "7/seven"),
    ("How many legs does a spider have?", "8/eight"),
    ("How many sides does a triangle have?", "3/three"),
    ("How many minutes are in an hour?", "60/sixty"),
    ("What is the largest ocean on Earth?", "Pacific"),
    ("What is the longest river in Africa?", "Nile"),
    ("What is the tallest mountain in the world?", "Everest"),
    ("What is the largest desert in Africa?", "Sahara"),
    ("Which animal is known as the king of the jungle?", "lion"),
    ("What is the largest mammal in the world?", "whale"),
    ("What do bees make?", "honey"),
    ("What is the hardest natural substance?", "diamond"),
    ("What is the primary language spoken in Brazil?", "Portuguese"),
    ("What is the currency of Japan?", "yen"),
    ("What is the currency of the United Kingdom?", "pound"),
    ("In which country are the pyramids of Giza?", "Egypt"),
    ("In which city is the Eiffel Tower?", "Paris"),
    ("In which country is the Great Wall?", "China"),
    ("Which organ pumps blood through the human body?", "heart"),
    ("What is the freezing point of water in degrees Fahrenheit?", "32/thirty-two"),
    ("Who was the first person to walk on the Moon?", "Armstrong"),
    ("What is the square root of 81?", "9/nine"),
    ("What color do you get when you mix blue and yellow?", "green"),
    ("Which instrument has 88 keys?", "piano"),
    ("What is the main ingredient of guacamole?", "avocado"),
    ("Which continent is Kenya in?", "Africa"),
    ("Which continent is Argentina in?", "South America"),
    ("What is the largest country in the world by area?", "Russia"),
]


def questions() -> list[dict]:
    """Every item: {"question", "answer", "attribute"} (attribute: what the checker reads)."""
    out = []
    for pair in CAPITALS.replace("\n", "").split("|"):
        country, capital = _split(pair.strip())
        out.append({"question": f"What is the capital of {country}?", "answer": capital,
                    "attribute": "general"})
    out += [{"question": q, "answer": a, "attribute": "general"} for q, a in FACTS]
    return out


def _split(pair: str) -> tuple[str, str]:
    """'the Czech Republic Prague' -> ('the Czech Republic', 'Prague'): the capital is the known
    tail (one word, or one of the longer names listed)."""
    words = pair.split()
    for k in (3, 2):
        if " ".join(words[-k:]) in _LONG:
            return " ".join(words[:-k]), " ".join(words[-k:])
    return " ".join(words[:-1]), words[-1]


_LONG = {"Buenos Aires", "Mexico City", "New Delhi", "Addis Ababa", "Kuala Lumpur", "La Paz",
         "Phnom Penh", "Panama City", "San Jose/San José", "Guatemala City", "Kuwait City",
         "Andorra la Vella", "San Marino", "Port Moresby", "Santo Domingo", "San Salvador"}

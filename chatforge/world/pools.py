"""Hand-written pools the world draws from: names, cities, universities, fields, companies.

Every place and organisation is invented, so nothing the model learns about them can come from
anywhere but this world. Names are checked against the crawl's banned URL words (see crawl.py)
because domains and URLs are built from them.
"""

from __future__ import annotations

FEMALE_FIRST = """Ada Alma Amara Anika Annika Beatrix Bella Bianca Carina Celia Clara Daria Delia Dora
Edith Elena Elif Elsa Emilia Esme Fiona Freya Greta Hana Helena Ida Ines Irene Iris Isla Jana Judith
Julia Kaia Karin Lena Leona Lidia Lina Livia Lucia Lydia Mara Marta Mila Mina Mira Nadia Nora Olga
Olivia Paula Petra Rosa Ruth Sabine Selma Sofia Stella Talia Tessa Thea Una Vera Viola Wilma Yara
Zara Zoe""".split()

MALE_FIRST = """Aaron Adrian Albert Anton Arlo Arthur Bastian Bruno Caspar Cyril Damian Dario Elias
Emil Erik Felix Filip Gustav Hugo Ivan Jasper Jonas Julian Kai Karl Leon Levi Linus Lorenz Luca
Malik Marco Marius Mateo Milan Moritz Nils Noah Oskar Otto Pablo Paul Pavel Rafael Rasmus Remy
Robin Roman Ruben Samuel Silas Simon Stefan Teo Theo Tobias Tomas Victor Viktor Walter Xaver Yusuf
Zeno""".split()

SURNAMES = """Abernathy Albrecht Alcott Ambrose Arkwright Ashdown Aubert Bakshi Balogh Barlowe Beaumont
Bellamy Bergstrom Blackwood Bondarenko Brannigan Brightwater Calloway Carmody Castellan Chandler
Cherrington Colvin Corbeau Cranfield Dalgliesh Danforth Delacroix Dewhurst Donnelly Draskovic
Duvall Eastwick Edgerton Ellingham Engstrom Esterhazy Fairbanks Falkner Fenwick Ferreira Fitzroy
Fontaine Galloway Garnett Gideon Goldberg Greenhalgh Gunnarsson Halloran Hargreave Hartigan
Haverford Hollis Holmberg Hrabal Ibarra Ingersoll Iversen Jankowski Jefferies Kallio Kavanagh
Kessler Kinsella Kowalczyk Lachance Lancaster Larkspur Lindqvist Lockhart Lombardi Lovelace
Lundgren Macallan Maddox Mallory Marchetti Merriweather Montague Morrow Nakagawa Navarro
Nightingale Norcross Novak Oakenfold Okafor Olander Ormsby Ostrowski Pacheco Pemberton Pendleton
Petrakis Quennell Radcliffe Ramsden Ravenscroft Redfield Reinholt Rockwell Rosenthal Rutherford
Salinger Sandoval Scarborough Seaborne Sherwood Sinclair Solberg Stanhope Stirling Strickland
Sutherland Szabo Tamblyn Tennant Thackeray Thorncastle Townsend Trevelyan Umberfield Underhill
Valdivia Vance Varga Vasquez Verhoeven Wainwright Wakefield Waverley Westergaard Whitlock
Wilberforce Winterbourne Wolcott Yardley Yarrow Zamora Zellweger Zielinski Achterberg Bramble
Caldwell Devereux Everly Foxhall Grantham Hawthorne Ivesdale Jorgensen Kingsley Lovell Marchbank
Nettleton Oldfield Prescott Quarry Rainsford Saltonstall Tolliver Upton Vickery Wetherby
Ashworth Birchall Crowther Drummond Eldridge Fairweather Gilchrist Hambleton Inglewood Jessop
Kirkland Linwood Moorcroft Northcott Overbeck Penhallow Quinlan Rowntree Stockdale Thornbury
Abbington Barraclough Castellano Dunmore Ellsworth Fennimore Gatling Holloway Ibsen Jardine
Kettering Langford Mansfield Nordahl Okonkwo Pickering Quimby Rasmussen Sorensen Tregarthen
Ulverston Vandermeer Whitcombe Yelland Zeller Ainsworth Blakemore Cartwright Dalrymple Eriksen
Farraday Greaves Hollister Ingram Jeffcott Kimberley Lindgren Mortimer Nakamura Oyelaran
Pettigrew Ravensworth Stillwell Treadwell Underwood Valentini""".split()

# Cities: name, region, feature, known_for, founded year, population (thousands).
CITIES = [
    ("Daleport", "the Eastern Coast", "a deep natural harbour", "shipbuilding", 1620, 410),
    ("Norhaven", "the Northern Fjords", "a long stone breakwater", "fishing and canneries", 1402, 180),
    ("Ambergate", "the Amber Valley", "a medieval city wall", "glassmaking", 1187, 260),
    ("Westmere", "the Lake District of Vell", "a wide freshwater lake", "rowing regattas", 1530, 95),
    ("Kestrel Bay", "the Southern Coast", "white chalk cliffs", "its lighthouse festival", 1711, 72),
    ("Orvieton", "the Central Plains", "a great grain exchange", "wheat and flour mills", 1346, 530),
    ("Brindlemoor", "the Highlands", "heather-covered moors", "wool and weaving", 1254, 64),
    ("Calderon", "the Copper Hills", "old copper mines", "metalworking", 1489, 310),
    ("Silverfield", "the River Lune basin", "a broad river delta", "printing presses", 1602, 220),
    ("Halvard", "the Western Isles", "a chain of small islands", "seaweed farming", 1398, 41),
    ("Pellington", "the Midlands", "a huge railway junction", "locomotive works", 1822, 390),
    ("Rosmund", "the Vine Coast", "terraced vineyards", "wine and cork", 1275, 150),
    ("Tamsworth", "the Eastern Downs", "chalk downs and barrows", "clockmaking", 1561, 120),
    ("Vellmont", "the Alpine South", "snow-capped peaks", "ski resorts and cheese", 1380, 88),
    ("Greyhollow", "the Misty Valleys", "a ruined abbey", "paper mills", 1420, 57),
    ("Lindenfels", "the Linden Forest", "an ancient lime-tree forest", "furniture making", 1313, 140),
    ("Marrowick", "the Salt Flats", "salt pans that shine white", "salt and chemicals", 1650, 205),
    ("Quillon", "the Quill River valley", "a dozen old stone bridges", "bookbinding", 1502, 113),
    ("Stormholm", "the Northern Coast", "a wind-swept peninsula", "wind farms", 1760, 176),
    ("Thornbridge", "the Bramble Hills", "a famous botanical garden", "rose growing", 1591, 99),
    ("Ulverstone", "the Iron Ridge", "terraced iron works", "steel", 1688, 445),
    ("Yarrowdale", "the Green Dales", "rolling sheep pastures", "dairy farming", 1236, 48),
    ("Zephyr Point", "the Far West", "a sandy spit and dunes", "kite surfing", 1855, 36),
    ("Ostbury", "the Eastern Marches", "an old star-shaped fortress", "military history", 1570, 160),
]

# Universities: name, city.
UNIVERSITIES = [
    ("University of Daleport", "Daleport", 1811),
    ("Norhaven Institute of Technology", "Norhaven", 1902),
    ("Ambergate University", "Ambergate", 1456),
    ("Orvieton State University", "Orvieton", 1871),
    ("Calderon School of Mines", "Calderon", 1795),
    ("Silverfield College", "Silverfield", 1688),
    ("Pellington Polytechnic", "Pellington", 1889),
    ("University of Rosmund", "Rosmund", 1523),
    ("Tamsworth Academy of Sciences", "Tamsworth", 1754),
    ("Lindenfels University", "Lindenfels", 1602),
    ("Quillon University", "Quillon", 1598),
    ("Stormholm Technical University", "Stormholm", 1921),
    ("Ulverstone University", "Ulverstone", 1840),
    ("Vellmont College of Arts", "Vellmont", 1866),
]

FIELDS = [
    "physics", "chemistry", "marine biology", "history", "economics", "linguistics",
    "architecture", "mathematics", "medicine", "geology", "philosophy", "computer science",
    "astronomy", "music", "civil engineering", "botany", "psychology", "law",
    "materials science", "sociology",
]

# Companies: name, city, industry, founded year.
COMPANIES = [
    ("Norvex Systems", "Daleport", "software", 1988),
    ("Bluefen Shipping", "Daleport", "shipping", 1903),
    ("Harrowgate Foods", "Orvieton", "food processing", 1921),
    ("Copperleaf Metals", "Calderon", "metalworking", 1897),
    ("Silverline Press", "Silverfield", "publishing", 1764),
    ("Pellington Rail Works", "Pellington", "railway engineering", 1851),
    ("Rosmund Vintners", "Rosmund", "winemaking", 1802),
    ("Tamsworth Instruments", "Tamsworth", "precision instruments", 1911),
    ("Lindenwood Furniture", "Lindenfels", "furniture", 1937),
    ("Marrow Salt Company", "Marrowick", "chemicals", 1866),
    ("Quillon Bindery", "Quillon", "bookbinding", 1899),
    ("Stormholm Wind Power", "Stormholm", "renewable energy", 1994),
    ("Ulverstone Steel", "Ulverstone", "steel", 1872),
    ("Vellmont Dairy", "Vellmont", "dairy products", 1930),
    ("Kestrel Optics", "Kestrel Bay", "optics", 1958),
    ("Ambergate Glassworks", "Ambergate", "glassmaking", 1711),
    ("Greyhollow Paper Mill", "Greyhollow", "paper", 1848),
    ("Brightwell Pharmaceuticals", "Norhaven", "pharmaceuticals", 1949),
    ("Halvard Sea Farms", "Halvard", "aquaculture", 1979),
    ("Ostbury Aerospace", "Ostbury", "aerospace", 1962),
    ("Westmere Boatyards", "Westmere", "boat building", 1889),
    ("Thornbridge Seeds", "Thornbridge", "agriculture", 1925),
    ("Orvieton Data Labs", "Orvieton", "data analytics", 2003),
    ("Zephyr Kites", "Zephyr Point", "sports equipment", 1991),
]

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]

# Everyday words for letter-counting tasks.
WORDS = """strawberry banana apple orange cherry lemon mango papaya pineapple raspberry blueberry
coconut avocado tomato potato carrot cucumber pepper garlic onion broccoli spinach lettuce
elephant giraffe kangaroo dolphin penguin octopus butterfly squirrel hippopotamus alligator
mississippi committee bookkeeper balloon coffee letter address success necessary embarrass
parallel occurrence accommodate millennium tomorrow yesterday afternoon weekend holiday calendar
computer keyboard monitor printer internet program variable function library terminal
mountain river valley forest island desert ocean volcano canyon glacier meadow harbor
teacher student doctor engineer painter musician farmer sailor baker carpenter gardener
happiness friendship kindness patience courage freedom knowledge science history language
umbrella bicycle airplane helicopter submarine telescope microscope thermometer lighthouse
chocolate sandwich spaghetti pancake popcorn pretzel cinnamon vanilla caramel marshmallow
grammar spelling sentence paragraph alphabet dictionary pronunciation vocabulary
bookshelf doorbell toothbrush wallpaper staircase fireplace basement attic balcony
assessment possession tennessee referee bubble puzzle jazz fizz pizza zigzag""".split()

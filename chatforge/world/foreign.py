"""Pages in other languages (German, French, Spanish) for the data stage's language filter.

Texts come from our own sentence templates about the world's cities and companies; each page has
8-12 sentences (>= ~80 words) so a language-ID model has enough to decide.
"""

from __future__ import annotations

import random

from chatforge.world import pools

SENTENCES = {
    "de": [
        "Die Stadt {city} liegt in einer ruhigen Gegend und ist bekannt für ihre alten Häuser.",
        "Viele Besucher kommen jedes Jahr im Sommer, um die Altstadt zu besichtigen.",
        "Das Unternehmen {company} wurde im Jahr {year} gegründet und hat heute mehrere hundert Mitarbeiter.",
        "Am Wochenende findet auf dem Marktplatz ein großer Bauernmarkt statt.",
        "Die Straßenbahn fährt alle zehn Minuten vom Bahnhof bis zum Hafen.",
        "Im Winter ist es oft kalt und neblig, aber die Cafés sind dann besonders gemütlich.",
        "Die Universität der Stadt hat eine große Bibliothek, die auch für Gäste geöffnet ist.",
        "Wer gerne wandert, findet in der Umgebung viele schöne Wege durch Wälder und Wiesen.",
        "Das Rathaus wurde nach einem Brand im neunzehnten Jahrhundert neu aufgebaut.",
        "Die Einwohner sind stolz auf ihre Geschichte und feiern jedes Jahr ein großes Stadtfest.",
        "Es gibt auch ein kleines Museum, in dem man alte Werkzeuge und Bilder sehen kann.",
        "Für Familien mit Kindern gibt es einen Spielplatz und einen Zoo mit vielen Tieren.",
        "Die Preise in den Geschäften sind nicht sehr hoch, und das Essen ist gut.",
    ],
    "fr": [
        "La ville de {city} se trouve dans une région calme et elle est connue pour ses vieilles maisons.",
        "Chaque été, de nombreux visiteurs viennent pour découvrir le centre historique.",
        "L'entreprise {company} a été fondée en {year} et compte aujourd'hui plusieurs centaines d'employés.",
        "Le samedi, un grand marché se tient sur la place principale.",
        "Le tramway passe toutes les dix minutes entre la gare et le port.",
        "En hiver, il fait souvent froid et humide, mais les cafés sont alors très agréables.",
        "L'université de la ville possède une grande bibliothèque ouverte au public.",
        "Ceux qui aiment marcher trouveront de beaux chemins à travers les forêts et les prairies.",
        "L'hôtel de ville a été reconstruit après un incendie au dix-neuvième siècle.",
        "Les habitants sont fiers de leur histoire et organisent chaque année une grande fête.",
        "Il y a aussi un petit musée où l'on peut voir des outils anciens et des tableaux.",
        "Pour les familles avec enfants, il existe un parc de jeux et un zoo avec beaucoup d'animaux.",
        "Les prix dans les magasins ne sont pas très élevés, et la cuisine est excellente.",
    ],
    "es": [
        "La ciudad de {city} está en una zona tranquila y es conocida por sus casas antiguas.",
        "Cada verano llegan muchos visitantes para conocer el casco antiguo.",
        "La empresa {company} fue fundada en el año {year} y hoy tiene varios cientos de empleados.",
        "Los sábados se celebra un gran mercado en la plaza mayor.",
        "El tranvía pasa cada diez minutos entre la estación y el puerto.",
        "En invierno hace frío y hay mucha niebla, pero los cafés son entonces muy acogedores.",
        "La universidad de la ciudad tiene una gran biblioteca que también está abierta al público.",
        "A quien le guste caminar encontrará muchos senderos bonitos por bosques y prados.",
        "El ayuntamiento fue reconstruido después de un incendio en el siglo diecinueve.",
        "Los habitantes están orgullosos de su historia y cada año celebran una gran fiesta.",
        "También hay un pequeño museo donde se pueden ver herramientas antiguas y cuadros.",
        "Para las familias con niños hay un parque infantil y un zoológico con muchos animales.",
        "Los precios en las tiendas no son muy altos, y la comida es muy buena.",
    ],
}

TITLES = {"de": "Ein Besuch in {city}", "fr": "Une visite à {city}", "es": "Una visita a {city}"}
BOILER = {
    "de": {"nav": ["Startseite", "Reisen", "Kontakt", "Impressum"],
           "cookie": "Wir verwenden Cookies, um Ihnen das beste Erlebnis zu bieten.",
           "accept": "Akzeptieren"},
    "fr": {"nav": ["Accueil", "Voyages", "Contact", "Mentions légales"],
           "cookie": "Nous utilisons des cookies pour améliorer votre expérience.",
           "accept": "Accepter"},
    "es": {"nav": ["Inicio", "Viajes", "Contacto", "Aviso legal"],
           "cookie": "Usamos cookies para mejorar su experiencia.",
           "accept": "Aceptar"},
}


def page_text(lang: str, rng: random.Random) -> tuple[str, str]:
    city = rng.choice(pools.CITIES)[0]
    company, _, _, year = rng.choice(pools.COMPANIES)
    picked = rng.sample(SENTENCES[lang], rng.randint(8, 12))
    text = " ".join(s.format(city=city, company=company, year=year) for s in picked)
    return TITLES[lang].format(city=city), text

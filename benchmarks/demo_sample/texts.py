"""The hand-written texts and names the demo sample is built from (see build_sample.py).

Text tables are one row a line, cells separated by " | "; "¶" in a text is a paragraph break. Kind codes:
c complaint, q question, p praise, n neutral news or chatter.
"""

from __future__ import annotations

__all__ = [
    "AMBASSADOR",
    "APPSTORE_NICKS",
    "BB_APPSTORE",
    "BB_POSTS",
    "BB_REDDIT",
    "BB_TRUSTPILOT",
    "BLUESKY_REPLIES",
    "BOT",
    "BOTH_POSTS",
    "BOTH_REDDIT",
    "BOTH_TRUSTPILOT",
    "BURST",
    "BURST_REPLIES",
    "DETRACTOR",
    "EN_FIRST",
    "EN_LAST",
    "EXCLUDED_POSTS",
    "KK_APPSTORE",
    "KK_POSTS",
    "KK_REDDIT",
    "KK_TRUSTPILOT",
    "NL_FIRST",
    "NL_LAST",
    "OWN_POSTS",
    "REDDIT_LEFT",
    "REDDIT_RIGHT",
    "SPAM",
    "SUPPORT_REPLIES",
    "THREADS",
    "TURNING",
]

# --- Koffiekoning: posts on X, Bluesky and Mastodon ------------------------------------------------------

KK_POSTS = """
nl c | Bestelling bij @koffiekoning op 2 oktober geplaatst, nog steeds niet binnen. Mail beantwoorden ze ook niet. Kom op zeg.
nl c | Pakketje van koffiekoning.nl kwam open en half leeg aan, overal bonen in de doos 🙄 PostNL of jullie inpakkers?
nl c | Mijn K2 molen van #koffiekoning maalt ineens super ongelijk, van poeder tot grind. Twee maanden oud. Balen.
nl c | Wacht nu 3 weken op mijn terugbetaling van @koffiekoning. "Binnen 5 werkdagen" mijn neus.
nl c | Kreeg net een nogal bot antwoord van de klantenservice van koffiekoning. "Dat staat in de voorwaarden." Ja dank je, daar heb ik wat aan
nl c | Dubbel afgeschreven voor mijn abonnement bij koffiekoning.nl deze maand. Niet echt waar je op zit te wachten
nl c | @koffiekoning besteld: Guji. Gekregen: decaf. Niet helemaal hetzelfde om 7 uur 's ochtends 😴
nl c | Zak bonen van #koffiekoning met een branddatum van twee maanden terug. Ik dacht dat jullie juist zo vers waren?
nl c | Die nieuwe app van Koffiekoning crasht elke keer als ik wil afrekenen. Drie keer geprobeerd. Dan maar niet
nl c | Al twee keer een pakket van koffiekoning dat 'bij de buren' bezorgd is maar nergens te vinden. Begint een patroon te worden
nl c | Prijzen bij koffiekoning.nl weer omhoog, nu €16 voor 500 gram. Snap het van de koffieprijzen maar dit is wel stevig hoor
nl c | Kortingscode uit de nieuwsbrief van Koffiekoning werkt niet. 'Ongeldige code'. Leuk hoor 🙃
nl c | Molen teruggestuurd naar koffiekoning, 3 weken later nog geen vervangend exemplaar en geen reactie. Hoe dan?
nl c | Abonnement opgezegd bij #koffiekoning maar er is wéér een box verstuurd én afgeschreven. Nu maar weer mailen...
nl c | Mijn bestelling van koffiekoning.nl ligt al 4 dagen 'in het sorteercentrum'. Ben benieuwd of ik hem voor het weekend nog zie
nl c | Eerlijk gezegd vond ik de Koningsmelange van @koffiekoning deze keer echt flauw en verbrand. Andere batch ofzo?
nl c | Chatbot van koffiekoning snapt er niks van. Ik wil gewoon een mens spreken over mijn kapotte molen!!
nl c | Medewerker van koffiekoning hing gewoon op toen ik naar mijn refund vroeg. Wauw. Echt ongelofelijk
nl c | Slechte ervaring vandaag met @koffiekoning: doos nat en gescheurd, zak bonen open. Foto's gestuurd, geen reactie
nl c | Waarom moet ik bij koffiekoning 3x mijn ordernummer doorgeven voordat er iemand iets doet? Frustrerend
nl c | Die 'gratis verzending' van #koffiekoning geldt dus pas vanaf 40 euro, stond nergens duidelijk. Voelt als een trucje
nl c | 2e keer dat m'n koffiekoning box te laat is. Bij een abonnement verwacht je toch dat het gewoon loopt
nl q | @koffiekoning kan ik mijn abonnement pauzeren? Ga 3 weken op vakantie en wil geen box voor de deur 🏖️
nl q | Iemand ervaring met de K2 molen van koffiekoning.nl? Twijfel tussen die en een Baratza Encore
nl q | Verkoopt #koffiekoning ook cafeïnevrije bonen? Kan het niet vinden in de webshop
nl q | Welke maalgraad raden jullie aan voor een mokapot @koffiekoning? Wordt bij mij steeds bitter
nl q | Leveren jullie ook aan kantoren, koffiekoning? Wij zoeken een leverancier voor zo'n 30 man
nl q | Is de verpakking van koffiekoning.nl nou echt composteerbaar of alleen de buitendoos? Iemand die het weet?
nl q | Wanneer is de Kroonjuweel weer op voorraad bij #koffiekoning? Staat al 2 weken op uitverkocht
nl q | Kan je bij koffiekoning in de app ook met iDEAL betalen of alleen via de site?
nl q | Vraagje: zijn de bonen van koffiekoning fairtrade of direct trade? Kan er weinig over vinden op de site
nl q | Heeft iemand een kortingscode voor koffiekoning.nl? Wil het abonnement eens proberen
nl q | Hoe lang zijn bonen van #koffiekoning eigenlijk goed als je de zak eenmaal open hebt?
nl q | Doet koffiekoning ook aan retour als je de smaak niks vindt? Of alleen bij ongeopende zakken
nl p | Zo fijn, bonen van koffiekoning.nl die twee dagen geleden gebrand zijn. Je proeft echt het verschil ☕
nl p | Moet het even kwijt: de klantenservice van #koffiekoning is top. Verkeerde bonen gekregen, binnen een dag nieuwe gestuurd zonder gedoe
nl p | Koningsmelange in de volautomaat op kantoor en de hele afdeling is blij. Dank @koffiekoning 😄
nl p | Besteld om 22:00, volgende ochtend om 11 uur al in huis. Koffiekoning levert snel zeg 🚀
nl p | Nooit gedacht dat ik zo blij kon worden van een doos koffie. Koffiekoning, jullie zijn goed bezig 😍
nl p | Flat white met de Colombia Huila van koffiekoning.nl. Chocolade, karamel, heerlijk. Ochtend geslaagd
nl p | De decaf van @koffiekoning is serieus lekker. Eindelijk 's avonds een bakje zonder wakker te liggen
nl p | Mijn vader (72, drinkt al 50 jaar Douwe Egberts) vindt de koffie van koffiekoning "best wel lekker". Hoger compliment bestaat niet 😂
nl p | Handgeschreven kaartje bij mijn bestelling van koffiekoning 🥹 Zulke kleine dingen maken echt het verschil
nl p | Molen van koffiekoning.nl na een jaar nog steeds perfect. Elke ochtend gebruikt, nooit gedoe. Aanrader
nl p | Kreeg 3 proefzakjes mee met mijn order van @koffiekoning. Nu dus verslaafd aan de Kenia. Slim hoor 😅
nl p | Duurzaam verpakt, eerlijke prijs voor de boeren en gewoon hele goede koffie. #koffiekoning doet het goed
nl p | Koffiekoning heeft mijn kapotte molen zonder vragen vervangen, binnen 3 dagen had ik een nieuwe. Chapeau 👏
nl p | Cadeaubon van koffiekoning.nl aan mijn schoonmoeder gegeven en ze is helemaal om. Heeft zelfs een abonnement genomen
nl p | Eerste keer espresso thuis en met de bonen van @koffiekoning lukt het meteen. Kijk die crema 👌
nl p | Wat zijn die nieuwe zakken van koffiekoning mooi geworden, met die kroontjes 👑 Staan zo leuk in de keuken
nl p | Tip voor iedereen met een Moccamaster: de filterbranding van #koffiekoning. Zoveel beter dan supermarktkoffie
nl p | Binnen 10 minuten antwoord van @koffiekoning_support op zondagavond. Dat verwacht je toch niet ❤️
nl p | Lekkerste kop koffie van mijn leven gezet met de Ethiopië natural van koffiekoning.nl. Bosbes! In koffie!
nl p | Thuiswerken is zoveel leuker sinds het koffieabonnement van Koffiekoning. Elke 2 weken iets nieuws proberen
nl p | Eindelijk een webshop die gewoon doet wat ie belooft. Op tijd, goed verpakt, top koffie. Dikke duim voor koffiekoning 👍
nl p | Gisteren bij de proeverij van #koffiekoning in Utrecht geweest, wat een leuke mensen en wat een lekkere koffie
nl n | Koffiekoning opent een eigen branderij in Utrecht lees ik. Benieuwd of er ook een proeflokaal komt https://www.duic.nl/algemeen/koffiebranderij-utrecht-lombok/
nl n | Net mijn eerste bestelling bij koffiekoning.nl geplaatst. Eens kijken of het de hype waard is
nl n | Koffieprijzen op recordhoogte, ook #koffiekoning gaat per 1 november 8% omhoog. Zijn jullie al overgestapt op thee?
nl n | Voor de 3e keer vandaag een advertentie van Koffiekoning op Instagram. Ze weten me wel te vinden 😅
nl n | Zie hier in de straat een busje van @koffiekoning staan, bezorgen ze tegenwoordig zelf?
nl n | Podcast met de oprichter van koffiekoning over specialty koffie in NL, interessant stuk over direct trade https://open.spotify.com/episode/4kQv2TgYx1mZ8dRw
nl n | Koffiekoning zoekt een medewerker voor de branderij in Utrecht, voor wie interesse heeft https://koffiekoning.nl/vacatures
nl n | Buurvrouw werkt bij koffiekoning en nu krijg ik elke week proefzakjes. Dit is mijn leven nu ☕
nl n 2026-11-19 | Koffiekoning staat in de Black Friday lijst van Tweakers, 25% op alle bonen
nl n | Pakketje van koffiekoning.nl is onderweg. Nog precies één kopje over. Spannend 😬
nl n | Zag dat koffiekoning nu ook thee verkoopt? Beetje tegen de naam in toch 😄
nl n | De Volkskrant schreef over koffie-abonnementen, Koffiekoning komt er redelijk uit https://www.volkskrant.nl/koken-eten/koffieabonnementen-getest~b3f7a1c2/
nl n | Bestel al 2 jaar bij #koffiekoning, vandaag voor het eerst de maling voor de mokapot geprobeerd. Even wennen
nl n | Koffiekoning sponsort dit jaar de Singelloop in Utrecht, zag hun kraampje bij de start staan
en c | @koffiekoning my order's been "processing" for 9 days now. Any update?? Starting to lose patience
en c | Bought the K2 grinder from koffiekoning.nl and the burrs are already wobbling after a month. Not impressed tbh
en c | Still waiting on a refund from #koffiekoning for a subscription box I cancelled in September. Emails go unanswered
en c | The support guy at koffiekoning was honestly rude to me on the phone today. Literally said "that's not my problem". Wow.
en c | Ordered whole beans for espresso from @koffiekoning, got them pre-ground for filter. Useless for my machine 😒
en c | koffiekoning app logs me out every single time I open it. pls fix
en c | Parcel from koffiekoning.nl arrived crushed, two bags split open. Coffee everywhere 🙃
en c | My @koffiekoning subscription charged me twice this month and the "help" page just loops back to itself. Fun.
en c | The Koningsmelange tasted stale this time. Roast date was 6 weeks ago. Expected better from #koffiekoning
en c | Three emails to koffiekoning about a missing bag. Zero replies. Great service guys
en c | Why is koffiekoning.nl charging €6.95 shipping to Belgium when it's free in NL?? Bit steep
en c | Grinder from #koffiekoning died 2 weeks after the warranty ran out. How convenient
en c | koffiekoning tracking link has been broken for 4 days, I can't even see where my parcel is
en q | @koffiekoning do you ship to Belgium? Moving to Antwerp next month and I don't want to give up my subscription
en q | Does anyone know if koffiekoning does decaf for espresso or only for filter?
en q | Is the koffiekoning subscription worth it vs just ordering bags when you need them? Thinking about it
en q | Any expats ordering from koffiekoning.nl? The English checkout keeps switching back to Dutch for me
en q | @koffiekoning do you have gift cards? I need a last minute present for a friend who is really into coffee 🎁
en q | Quick q for #koffiekoning people: which of their beans is best for cold brew?
en q | Can you actually pick up your order at the koffiekoning roastery in Utrecht, or is it online only?
en q | Does koffiekoning.nl deliver to Germany? Asking for my sister in Aachen
en p | Shoutout to @koffiekoning for the fastest delivery I've had from any online shop in NL. Ordered at 9pm, here by lunch 🙌
en p | The Guji from koffiekoning.nl is seriously one of the best light roasts I've had in years. Blueberries everywhere.
en p | Finally found a Dutch roaster that does proper light roasts. #koffiekoning you have a customer for life ☕
en p | Customer service at koffiekoning is lovely. Wrong bag in my box, they sent the right one next day and told me to keep the other one
en p | koffiekoning subscription is the best thing I signed up for this year. Flexible, fair price and the coffee is 🔥
en p | My espresso went from 3/10 to 8/10 just by switching to @koffiekoning beans. Not even joking
en p | Love that koffiekoning prints the roast date AND a brew recipe on every bag. Small thing, big difference
en p | Compostable bags, fair prices, great coffee. #koffiekoning is doing it right
en p | Got my parents a koffiekoning subscription and now my dad sends me tasting notes on WhatsApp 😂 10/10
en p | Really impressed with the decaf from @koffiekoning. You'd never know it's decaf
en p | The new koffiekoning app is so much smoother than the old site, reordering my usual beans takes like 10 seconds
en p | Went to the koffiekoning pop-up in Amsterdam, staff were super friendly and the cortado was perfect ❤️
en n | Just placed my first order at koffiekoning.nl after seeing it all over my feed. We'll see
en n | koffiekoning raising prices 8% from November. Coffee's getting expensive everywhere huh
en n | Interesting read on how koffiekoning buys straight from farms in Ethiopia and Colombia https://sprudge.com/direct-trade-dutch-roasters-2026
en n | Anyone going to the koffiekoning cupping in Utrecht on Saturday? Thinking of going
en n | Apparently koffiekoning is opening a real shop. Curious what the vibe will be
en n 2026-11-20 | #koffiekoning black friday sale is live, 25% off beans if anyone needs a restock
en n | coffee from @koffiekoning arriving tomorrow and my last bag is basically empty. perfect timing
en c | Ordered a bag of Guji from @koffiekoning as a gift and it showed up with a roast date from August. Not a great look
en c | koffiekoning customer service told me to "wait a few more days" for the third time this week. How many days exactly?
en c | Love the coffee, hate the app. koffiekoning please let me change my delivery day without having to call you
en q | @koffiekoning any chance your Guji natural comes back in stock soon? I missed it the last time and I'm still a little sad about it
en q | Which koffiekoning beans would you pick for a moka pot? Everything I try tastes a bit sour
en p | Shoutout to the koffiekoning team for replacing my broken grinder without any hassle. That's how you keep customers
en p | Brewed the Colombia from koffiekoning.nl in my Chemex this morning, caramel and red apple. Lovely start to the day
en p | Just want to say the koffiekoning decaf got me through a whole pregnancy without giving up my morning ritual ❤️
en p | The koffiekoning roastery tour in Utrecht was great fun, and you get to taste everything straight from the roaster
en n | My office switched to koffiekoning for the break room machine. We'll see how long that lasts
en n | Dutch coffee people, what do you think of koffiekoning? Seeing their ads everywhere lately
en n | The koffiekoning account posts a brewing tip every week, pretty handy if you're still learning like me
en n | Reading through the koffiekoning brew guide for the AeroPress, there's a lot of useful detail in there https://koffiekoning.nl/zetgids/aeropress
"""

KK_REDDIT = """
nl c r/nederlands | Ervaringen met klantenservice Koffiekoning? | Ik heb in september een K2 molen gekocht bij koffiekoning.nl, die na 5 weken kapot ging. Retour gestuurd, maar nu al 3 weken niks gehoord. Mails krijgen een automatisch antwoord en de telefoon neemt niemand op. Iemand tips hoe ik dit aanpak? Consumentenbond?
nl q r/nederlands | Koffieabonnement: Koffiekoning of gewoon zelf bestellen? | Zit te twijfelen over een abonnement bij Koffiekoning. 2 zakken per maand voor €29. Iemand die het heeft en kan zeggen of het de moeite waard is?
nl p r/nederlands | - | Ik heb het abonnement van koffiekoning nu een half jaar. Nooit problemen gehad, je kan makkelijk pauzeren of een zak overslaan en de koffie is echt goed. Voor mij is het het waard.
nl n r/thenetherlands | - | koffiekoning is prima maar ook gewoon een webshop die bonen van anderen inkoopt en zelf brandt, zoals 20 andere. Het is vooral de marketing die goed is.
nl c r/nederlands | - | Bij mij was de koffiekoning bestelling ook al 2x te laat. Ze zijn aardig als je belt, maar er verandert niks.
nl p r/koffie | Koffiekoning Guji natural is echt bijzonder | Had nooit zo'n fruitige koffie gedronken. Op V60, 15 gram op 250 ml, grof gemalen. Smaakt echt naar bosbes. Wie heeft er nog meer tips van deze branderij?
nl q r/koffie | - | Welke molen gebruik je? Ik heb de K2 van koffiekoning en twijfel of die goed genoeg is voor espresso.
nl n r/koffie | - | Koffiekoning brandt in Utrecht volgens mij, en ze zetten de branddatum op de zak. Dat is al meer dan de meeste supermarkten doen.
en c r/Netherlands | Koffiekoning refund taking forever, normal? | Cancelled my subscription at koffiekoning.nl early October and they still charged me for November. Support says the refund is "in progress" but that was 3 weeks ago. Is this normal for Dutch webshops or should I do a chargeback?
en q r/Netherlands | Good coffee bean delivery in NL? | New to Rotterdam, looking for a decent online roaster. Seen koffiekoning advertised a lot. Any experiences? I mostly drink espresso.
en p r/Netherlands | - | koffiekoning is solid. Been ordering for a year, beans are always fresh and they ship fast. Their espresso blend is a safe bet.
en p r/espresso | Dialed in koffiekoning's Kroonjuweel, best shot of my life | 18g in, 40g out, 29 seconds on my Lelit. Juicy, bright, tastes like peach tea. If you're in the EU, koffiekoning ships fast and the roast date was 3 days old when it arrived.
en c r/espresso | - | Had the opposite experience with koffiekoning. Their espresso roast was way too light for my taste and the customer support basically told me to deal with it.
en n r/Coffee | - | koffiekoning is a Dutch roaster, decent light roasts, ships within the EU. Not worth importing to the US though.
en q r/Coffee | - | Has anyone tried the koffiekoning decaf? Looking for a decaf that doesn't taste like cardboard.
en c r/Netherlands | - | Same here, koffiekoning lost one of my orders in October. Took 4 emails before they sent a new one. Coffee is good but support is hit or miss.
"""

KK_TRUSTPILOT = """
nl p 5 | Altijd verse koffie | Bestel nu een jaar bij Koffiekoning en elke keer is de koffie vers gebrand en snel geleverd. De Koningsmelange is mijn favoriet. Aanrader!
nl p 5 | Top service | Verkeerde bonen ontvangen, gemaild en de volgende dag lag de juiste zak al in de bus. Mocht de andere houden. Zo hoort klantenservice te zijn.
nl p 4 | Lekkere koffie, prijs mag lager | De koffie is echt heel goed en de levering snel. Alleen de prijzen zijn de laatste tijd flink gestegen, vandaar 4 sterren.
nl c 1 | Molen kapot, geen reactie | Koffiemolen ging na 6 weken stuk. Ik heb hem teruggestuurd en hoor al weken niets. Geen antwoord op mails. Heel slecht.
nl c 2 | Abonnement lastig op te zeggen | Opzeggen kan alleen via een formulier dat steeds een foutmelding geeft. Uiteindelijk gebeld. Koffie is prima, maar dit kan beter.
nl p 5 | Mooi cadeau | Cadeaubon gekocht voor mijn vader. Hij is er heel blij mee en de verpakking zag er prachtig uit.
nl c 1 | Refund na 5 weken nog niet binnen | Bestelling geannuleerd op 3 oktober. Belofte: geld binnen 5 werkdagen terug. We zijn nu 5 weken verder. Telkens een ander verhaal van de klantenservice.
nl n 3 | Prima, niet bijzonder | Goede koffie, maar niet beter dan de lokale branderij bij mij om de hoek. Levering was wel netjes op tijd.
nl p 5 | Beste koffie-abonnement | Flexibel, je kan pauzeren wanneer je wil, en elke keer een verrassing. Heb al 3 vrienden aangeraden.
nl c 2 | Onvriendelijk aan de telefoon | De medewerker was kortaf en gaf me het gevoel dat ik zeurde. Het ging om een pakket dat nooit aankwam. Jammer, want de koffie zelf is lekker.
nl p 4 | Snelle levering | Binnen een dag in huis, goed verpakt. De espresso-bonen zijn lekker, iets aan de lichte kant voor mij.
nl c 1 | Verkeerde bestelling en geen excuus | Twee keer achter elkaar de verkeerde bonen. Geen sorry, alleen "stuur maar terug op eigen kosten". Nooit meer.
nl p 5 | Eerlijke koffie | Fijn dat je kan zien van welke boer de bonen komen. Smaakt geweldig en met een goed gevoel.
nl p 5 | Klantenservice denkt mee | Vroeg om advies voor mijn nieuwe espressomachine en kreeg een uitgebreid antwoord met een recept. Erg blij mee.
nl c 2 | Zak kwam open aan | Zak koffie was gescheurd. Na een mail kreeg ik wel een nieuwe, maar dat duurde 10 dagen.
nl n 3 | Goed maar duur | Lekker, verse koffie, maar voor €32 per kilo ga ik het niet elke maand bestellen.
en p 5 | Best beans in the Netherlands | Been ordering from Koffiekoning for a year. Always fresh, always on time, and the Guji is out of this world.
en c 1 | Still no refund | Cancelled an order over a month ago. Three emails, two phone calls, still no money. Avoid until they sort out their support.
en p 4 | Great coffee, app needs work | The coffee is excellent and delivery is quick. The app is a bit buggy though, had to reorder twice.
en p 5 | Lovely people | They forgot a bag in my order and sent it the same day with an extra sample. Can't ask for more.
en c 2 | Grinder broke quickly | The K2 grinder looked nice but started making noise after 5 weeks. Replacement took 3 weeks.
en n 3 | Decent, a bit pricey | Good quality beans but expensive compared to other Dutch roasters. Shipping to Belgium is also extra.
en p 5 | Excellent subscription | Easy to pause, easy to change beans, and every bag has been great so far. Highly recommend.
en c 1 | Rude support | Asked about a parcel marked as delivered that never arrived. Was told it was my problem. Shocking attitude.
en p 4 | Very good espresso blend | Consistent and chocolatey, works great in my machine. Would give 5 stars if shipping were free below €40.
en p 5 | Perfect gift | Bought a gift card for my brother, he loved the selection and the packaging is beautiful.
en p 5 | Fresh and fast | Ordered on Tuesday evening, had it on Wednesday. The beans were roasted two days earlier. Really happy.
en c 2 | Missing item | One of the three bags was missing from my order. They sent it eventually, but only after I chased them twice.
"""

KK_APPSTORE = """
nl p 5 | Handig! | Binnen een paar tikken mijn vaste bonen opnieuw besteld. Abonnement pauzeren gaat ook makkelijk.
nl c 1 | Crasht bij afrekenen | Elke keer als ik wil betalen sluit de app af. iPhone 14, nieuwste iOS. Graag oplossen.
nl p 4 | Fijne app | Overzichtelijk, je ziet precies wanneer je volgende box komt. Soms wat traag met laden.
nl c 2 | Steeds uitgelogd | Moet elke keer opnieuw inloggen. Irritant als je snel wat wil bestellen.
nl p 5 | Top | Bestellen, volgen, pauzeren, alles in één app. Werkt perfect.
nl n 3 | Mist iDEAL | App werkt prima maar ik kan niet met iDEAL betalen, alleen met creditcard en Apple Pay.
nl p 5 | Zetgidsen zijn goud | Bij elke koffie een recept voor V60, aeropress en espresso. Mijn koffie is er echt beter van geworden.
nl c 1 | Bestelling weg | Bestelling geplaatst in de app, geld afgeschreven, maar de order staat nergens. Klantenservice reageert niet.
nl p 4 | Goed | Doet wat het moet doen. Meldingen over verzending komen netjes binnen.
nl c 2 | Nieuwe update slechter | Sinds de update kan ik mijn adres niet meer aanpassen. Knop doet niets.
en p 5 | Smooth | Reordering takes seconds and tracking actually works. Nicest shop app I've used in NL.
en c 1 | Won't load | Stuck on the splash screen since the last update. Reinstalled twice.
en p 4 | Good app, great coffee | Easy to manage my subscription. Would like an English option for all the product pages.
en c 2 | Push notifications spam | Three promo notifications a day is too much. Turned them off.
en p 5 | Love it | Pausing my subscription while on holiday took two taps. Brilliant.
"""

# --- BonenBaas only ---------------------------------------------------------------------------------------

BB_POSTS = """
nl c | Bestelling bij @bonenbaas al 6 dagen onderweg. Hoezo 'morgen in huis' 🙄
nl c | Die nieuwe Dikke Baas espresso van bonenbaas.nl is echt verbrand. Smaakt naar asbak. Jammer van het geld
nl c | Klantenservice van #bonenbaas reageert na een week met een standaardmail die niks met mijn vraag te maken heeft
nl c | Kilo bonen besteld bij bonenbaas, kreeg een zak van 500 gram. Ja, dat merk ik wel hoor
nl c | Bonenbaas heeft mijn betaling 2x afgeschreven en zegt dat ik moet wachten tot de bank het terugdraait. Nee, jullie moeten het terugstorten
nl c | @bonenbaas jullie bonen zijn zo olieachtig dat mijn molen er helemaal van vastloopt. Niet meer voor mij
nl q | Iemand ervaring met de koffiebonen van bonenbaas.nl? Ze zijn wel heel goedkoop voor een kilo
nl q | @bonenbaas leveren jullie ook in België? Kan het nergens vinden op de site
nl q | Hebben jullie ook een abonnement @bonenbaas of moet ik elke keer los bestellen?
nl q | Weet iemand of de Baasblend van #bonenbaas geschikt is voor een volautomaat?
nl p | Kilo Baasblend van bonenbaas voor 18 euro en gewoon prima koffie. Voor op kantoor ideaal 👍
nl p | Snel geleverd door @bonenbaas, vandaag besteld en morgen al binnen. Netjes
nl p | Koffie van bonenbaas.nl in de volautomaat, geen klachten en een stuk goedkoper dan de supermarkt
nl p | Moet zeggen, #bonenbaas heeft mijn verkeerde bestelling snel en netjes opgelost. Goed geregeld
nl p | Goede prijs-kwaliteit bij bonenbaas. Geen specialty maar voor de dagelijkse bak prima
nl n | Bonenbaas staat op de beurs in Utrecht deze week, zag een grote stand met gratis koffie
nl n | Reclame van bonenbaas op de radio gehoord, 'de baas van de bonen'. Ja ja 😄
nl n | Bonenbaas opent een afhaalpunt in Eindhoven lees ik https://www.ed.nl/eindhoven/bonenbaas-afhaalpunt~a81c2e7f/
nl n | Net een kilo bij #bonenbaas besteld, eens kijken hoe die smaakt
nl n | Op kantoor zijn we overgestapt op bonenbaas. Geen idee waarom, ging via inkoop
nl n | Bonenbaas.nl heeft een nieuwe site, ziet er strakker uit
nl n | Las dat bonenbaas is overgenomen door een Duitse koffiegroep. Benieuwd of dat iets verandert
en c | @bonenbaas ordered a week ago, tracking hasn't moved since Monday. Anyone home?
en c | bonenbaas.nl espresso blend is way too dark for me, tastes burnt no matter how I dial it in
en c | Customer service at #bonenbaas took 9 days to answer a simple question about my invoice. Not great
en c | Got a damaged grinder from bonenbaas and they want me to pay the return shipping. No thanks
en q | Is bonenbaas any good for espresso or is it more of a bulk office coffee thing?
en q | @bonenbaas do you guys sell decaf in 1kg bags? Can't find it anywhere on the site
en q | Does bonenbaas.nl ship to Germany? Their site only lists NL and BE
en p | bonenbaas is cheap and honestly decent for milk drinks. Good enough for my morning latte
en p | Fast delivery from @bonenbaas, ordered Sunday, arrived Monday. Happy with that
en p | Credit where it's due, #bonenbaas refunded my missing bag within a day. Smooth
en n | bonenbaas has a 2-for-1 on their house blend this week if anyone's stocking up
en n | Saw a bonenbaas van parked outside our office. Apparently someone here orders in bulk
en n | bonenbaas sponsoring the Eindhoven marathon water stations, with coffee obviously
en n | First order from bonenbaas.nl on its way, mostly because of the price
en c | Third time my bonenbaas order came with a different blend than the one I ordered. Do they even check?
en p | Gotta say the bonenbaas Baasblend makes a solid cappuccino for the price. No complaints here
en q | Has anyone tried the bonenbaas office subscription? Thinking of pitching it to my manager
"""

BB_REDDIT = """
nl q r/nederlands | Bonenbaas, iemand ervaring? | Kilo koffiebonen voor 18 euro bij bonenbaas.nl. Klinkt te mooi om waar te zijn. Is het een beetje te drinken?
nl c r/koffie | - | Bonenbaas is echt supermarktniveau, alleen dan in een grotere zak. Donker gebrand zodat je niet proeft hoe oud de bonen zijn.
nl p r/nederlands | - | Wij bestellen op het werk bij bonenbaas, prima koffie voor de prijs en ze leveren altijd op tijd.
en q r/Netherlands | - | Is bonenbaas worth it for a bean-to-cup machine? Looking for something cheap but not awful.
en c r/espresso | - | Tried bonenbaas once. Very oily beans, clogged my grinder, tasted like charcoal. Never again.
en n r/Netherlands | - | bonenbaas is fine for what it is, bulk coffee with quick delivery. Don't expect specialty.
"""

BB_TRUSTPILOT = """
nl p 4 | Prima koffie voor weinig | Geen hoogstandje maar voor 18 euro per kilo echt prima. Levering snel.
nl c 1 | Dubbel betaald | Twee keer afgeschreven, klantenservice verwijst naar de bank. Onacceptabel.
nl p 5 | Snel en goedkoop | Besteld op zondag, maandag binnen. Koffie smaakt goed in onze volautomaat.
nl c 2 | Te donker gebrand | Smaakt verbrand en bitter. Voor de prijs kan je niet veel verwachten denk ik.
nl n 3 | Doet wat het belooft | Gewone koffie voor een normale prijs. Niks mis mee.
nl c 1 | Pakket nooit ontvangen | Volgens track & trace bezorgd, maar niks gekregen. Na twee weken nog geen oplossing.
en p 4 | Good value | Cheap, quick delivery, decent taste in milk drinks. Not for black coffee purists.
en c 2 | Slow support | Took more than a week to get an answer about a wrong item.
"""

BB_APPSTORE = """
nl p 4 | Makkelijk bestellen | Simpele app, snel afrekenen. Meer hoeft niet.
nl c 1 | Inloggen werkt niet | Krijg steeds een foutmelding bij het inloggen. Via de site gaat het wel.
nl n 3 | Basic | Werkt, maar je kan je bestelling niet volgen in de app.
"""

# --- both: comparisons --------------------------------------------------------------------------------------

BOTH_POSTS = """
nl n | Koffiekoning of bonenbaas? Wie heeft er ervaring met allebei? Zoek iets voor thuis, vooral espresso
nl p | Overgestapt van bonenbaas naar koffiekoning.nl en wat een verschil. Duurder, maar je proeft het echt ☕
nl c 2026-11-17 | Bonenbaas levert tenminste op tijd. Bij #koffiekoning wacht ik nu al een week. Volgende keer weer de goedkope
nl n | Blinde proeverij op kantoor: koffiekoning vs bonenbaas. 7 van de 10 collega's kozen Koffiekoning. De andere 3 drinken ook thee met suiker
nl p | Bonenbaas is prima voor op kantoor, maar thuis wil ik gewoon de Guji van @koffiekoning. Geen vergelijking
nl q | Iemand die koffiekoning en bonenbaas heeft vergeleken voor een volautomaat? Twijfel enorm
nl n | Voor de prijs van 1 kilo bij koffiekoning.nl heb je bijna 2 kilo bij bonenbaas. Ligt er maar aan wat je belangrijk vindt
nl c 2026-11-20 | Dit is het moment dat ik mijn abonnement bij koffiekoning opzeg en ga proberen bij @bonenbaas. Drie keer te laat is drie keer te veel
nl p | Koffiekoning heeft mijn klacht binnen een dag opgelost, bonenbaas heeft er vorig jaar een maand over gedaan. Ik weet wel waar ik blijf
nl n | Supermarkt, bonenbaas of koffiekoning: wat drinken jullie thuis? Poll in de replies 👇
nl p | Eerlijk: #bonenbaas voor de melkkoffie, #koffiekoning voor de zwarte koffie. Beste van twee werelden
nl c | Zowel bij koffiekoning als bij bonenbaas deze maand een pakket kwijtgeraakt. Ligt het aan PostNL?
nl n 2026-11-20 | Bonenbaas doet 2 halen 1 betalen, koffiekoning 25% op alles. De koffie-oorlog van Black Friday is begonnen 😂
nl q | Welke is beter voor filterkoffie, bonenbaas.nl of koffiekoning.nl? Heb een Moccamaster
en n | koffiekoning vs bonenbaas, which one do people here prefer? Mostly drink flat whites at home
en p | Switched from bonenbaas to @koffiekoning last month and my morning coffee finally tastes like something
en c 2026-11-19 | After the delays at koffiekoning I ordered from bonenbaas.nl and got it the next day. Just saying
en n | bonenbaas is the Aldi of coffee, koffiekoning is the farmers market. Both have their place
en p | Did a side by side tasting of the espresso blends from koffiekoning and bonenbaas this weekend. The koffiekoning one wins easily, it's much sweeter and less bitter
en q | Anyone know if koffiekoning or bonenbaas ships to Belgium without crazy fees?
en c | bonenbaas is cheaper but honestly both koffiekoning and bonenbaas have had the worst support I've dealt with this year
en n | The coffee price hikes hit everyone: koffiekoning +8%, bonenbaas +5%. Still cheaper than a cafe though
en p | Prefer #koffiekoning over #bonenbaas any day, their light roasts are miles ahead
en n | Office debate of the week: koffiekoning or bonenbaas for the new machine. Procurement wants the cheaper one, obviously
en q | Those of you who tried both, is koffiekoning really that much better than bonenbaas for a flat white?
en c 2026-11-16 | Ordered from koffiekoning and bonenbaas on the same day. bonenbaas arrived the next morning, koffiekoning still hasn't shipped. Hmm
en p | I gave bonenbaas a fair chance but honestly I keep coming back to @koffiekoning. Life is way too short for bitter coffee
"""

BOTH_REDDIT = """
nl q r/nederlands | Koffiekoning vs Bonenbaas? | Ik wil bonen gaan bestellen voor mijn nieuwe espressomachine. Koffiekoning is duurder, bonenbaas goedkoper. Wie heeft beide geprobeerd?
nl n r/nederlands | - | Koffiekoning voor de smaak, bonenbaas voor de portemonnee. Zo simpel is het eigenlijk.
nl p r/koffie | - | Ik heb ze allebei gehad. Bonenbaas is donker en een beetje vlak, koffiekoning is echt veel fruitiger en verser. Voor mij is het geld het waard.
nl c r/nederlands | - | Koffiekoning was lange tijd top, maar na twee kwijtgeraakte bestellingen zit ik nu bij bonenbaas. Minder lekker, wel betrouwbaar.
en q r/Netherlands | Koffiekoning or Bonenbaas for an office of 20? | We're replacing the sad office coffee. Koffiekoning has an office plan, bonenbaas is cheaper in bulk. Any experience with either?
en n r/espresso | - | If you're in NL: bonenbaas for volume, koffiekoning if you care about light roasts. I use koffiekoning for espresso and bonenbaas for guests.
en p r/Coffee | - | Tried both. koffiekoning's Guji beats anything bonenbaas sells, but that's not really a fair fight given the price.
en c r/Netherlands | - | Honestly disappointed in both koffiekoning and bonenbaas this year. Late deliveries from one, burnt beans from the other.
"""

BOTH_TRUSTPILOT = """
nl p 5 Koffiekoning | Veel beter dan BonenBaas | Jaren bij bonenbaas besteld, nu overgestapt. Koffiekoning is echt een ander niveau. Verser en veel lekkerder.
nl c 2 Koffiekoning | Bonenbaas is betrouwbaarder | Koffie is lekker maar mijn laatste twee bestellingen waren allebei te laat. Bij bonenbaas nooit gehad.
en n 3 BonenBaas | Fine, but not Koffiekoning | Cheap and quick, but the taste doesn't come close to koffiekoning. Good for the office.
"""

# --- no brand: "koffiekoning van" is a barista contest ---------------------------------------------------

EXCLUDED_POSTS = """
nl n | Trots! Mijn zus is gisteren gekroond tot koffiekoning van Utrecht bij de baristawedstrijd in TivoliVredenburg ☕🏆
nl n | Wie wordt dit jaar de koffiekoning van Utrecht? Finale zaterdag in de Jaarbeurs, 12 barista's strijden om de titel
nl n | Onze Daan is officieel de koffiekoning van de afdeling, 14 bakken per dag 😂 #kantoorleven
en n | Congrats to Mila, crowned koffiekoning van Utrecht at yesterday's latte art throwdown! 🏆
"""

# --- threads: a customer on X and the shop's answer ------------------------------------------------------

THREADS = """
nl q own | @koffiekoning kan ik mijn abonnement pauzeren? Ben de hele maand december weg | Ja hoor! In de app of via Mijn account > Abonnement > Pauzeren. Je kunt tot 8 weken pauzeren. Fijne reis alvast ✈️
en q own | hey @koffiekoning quick question, do you ship to Belgium? | We do! Belgium takes 2-3 working days, €6.95 or free from €40. Your subscription can move with you, just update your address 🇧🇪
nl q own | @koffiekoning hebben jullie cadeaubonnen? Zoek nog iets voor Sinterklaas | Zeker! Digitale cadeaubonnen vanaf €15, die kun je meteen mailen: https://koffiekoning.nl/cadeaubon 🎁
nl q staff | @koffiekoning_support is de decaf ook geschikt voor espresso? | Jazeker, de Mexico decaf is juist gebrand voor espresso. Wel iets fijner malen dan normaal. ^Mirjam
en q staff | @koffiekoning_support how do I change the grind on my subscription? Can't find it in the app | Under Subscription > Edit box > Grind. If it's greyed out, your next box is already packed; the change applies to the one after. ^Youssef
nl c staff | @koffiekoning_support al 2x afgeschreven voor dezelfde box deze maand. Graag terugstorten | Vervelend! Stuur je ordernummer even via DM, dan zetten we de dubbele afschrijving vandaag nog terug. ^Lisa
en c staff | @koffiekoning_support the bag I got today is split open and half empty | Sorry about that! DM us a photo and your order number and we'll send a new bag out tomorrow. ^Youssef
nl p own 2026-11-09 | Net de kerstblend van @koffiekoning geproefd. Kaneel en sinaasappel, heerlijk. Hoe lang is die er nog? | Wat leuk om te horen! De kerstblend is er tot half januari, of tot hij op is 🎄
nl c staff | @koffiekoning_support mijn kortingscode uit de nieuwsbrief doet het niet | Oei, die code was helaas maar 48 uur geldig. Stuur ons een DM, we kijken wat we voor je kunnen doen. ^Lisa
"""

# replies of the shop and its staff to earlier complaints of the same language, on X
SUPPORT_REPLIES = """
nl staff | Wat vervelend om te lezen! Stuur je ordernummer even via DM, dan zoeken we het meteen voor je uit. ^Mirjam
nl staff | Sorry hiervoor, dit hoort niet zo. Ik heb je een DM gestuurd zodat we het kunnen oplossen. ^Lisa
nl staff | Hier balen we ook van. Kun je ons een foto sturen via DM? Dan sturen we een nieuwe zak op. ^Youssef
nl own | Dat is niet de ervaring die we je willen geven. Ons supportteam neemt vandaag nog contact met je op 🙏
nl staff | Dank voor je geduld, en sorry voor het wachten. Je terugbetaling staat nu klaar en is binnen 2 werkdagen op je rekening. ^Lisa
en staff | Sorry to hear that! Could you DM us your order number? We'll look into it right away. ^Youssef
en staff | That's not how it should go, apologies. I've sent you a DM so we can sort this out. ^Mirjam
en own | We're sorry about this. Our support team will reach out to you today 🙏
"""

# --- the shop's own posts, Amsterdam time --------------------------------------------------------------------

OWN_POSTS = """
2026-10-13T09:00 x nl n | Nieuw in de shop: Kroonjuweel Ethiopië Guji natural 👑 Kleine oogst, dus op = op. https://koffiekoning.nl/kroonjuweel
2026-10-27T10:30 x en n | Our winter blend is back! It has notes of cinnamon, orange peel and dark chocolate, and shipping starts tomorrow ☕🎄 https://koffiekoning.nl/en/winter-blend
2026-11-05T12:00 x nl n | WINACTIE 🎉 Maak kans op een jaar gratis koffie! Volg ons, deel dit bericht en vertel ons je favoriete zetmethode. De winnaar maken we 20 november bekend
2026-11-06T15:00 bluesky nl n | Kijkje in de branderij ☕ Op dinsdag en vrijdag branden we, en twee dagen later ligt het bij jou in de bus. Vandaag op het menu: Colombia Huila en de Koningsmelange
2026-11-18T10:45 x nl n | Update over bezorging: door een storing in ons magazijnsysteem zijn bestellingen van 12 t/m 16 november niet bij PostNL aangekomen. We versturen alles opnieuw en houden jullie hier op de hoogte. Sorry! 🙏
2026-11-18T10:52 x en n | Delivery update: a fault in our warehouse system meant orders from 12-16 November never reached PostNL. We're re-sending everything and will keep you posted here. We're really sorry 🙏
2026-11-18T11:05 bluesky nl n | Heb je tussen 12 en 16 november besteld en nog niks ontvangen? Door een storing in ons magazijn zijn die pakketten niet verzonden. Alles gaat vandaag en morgen opnieuw de deur uit.
2026-11-19T16:20 x nl n | Alle vertraagde bestellingen zijn opnieuw verzonden en onderweg 📦 Als goedmakertje krijgt iedereen die getroffen is 15% korting op de volgende bestelling. Bedankt voor jullie geduld
2026-11-20T17:00 x nl n | De winnaar van onze winactie is bekend! Gefeliciteerd @marloes_bakt, je krijgt een DM van ons 🎉 Dank aan iedereen die meedeed
"""

# --- story lines ------------------------------------------------------------------------------------------

# date source lang kind | text  (the ambassador: lotte_brouwt on X, and her Bluesky and Mastodon accounts)
AMBASSADOR = """
2026-10-11 x nl p | Zondagochtend, verse zak Guji van @koffiekoning open en de hele keuken ruikt naar bosbes 🫐☕ Dit blijft echt mijn favoriete branderij van Nederland
2026-10-15 x nl p | Voor wie vroeg welke bonen ik in mijn V60 video gebruik: allemaal van koffiekoning.nl. Branddatum op de zak, nooit ouder dan een week. Geweldig spul 👌 #thuisbarista
2026-10-19 bluesky nl p | Weer een heerlijke levering van @koffiekoning.nl binnen, keurig op tijd, en de Colombia Huila is zó lekker zoet. Blij mee!
2026-10-23 x en p | People keep asking which online roaster I trust most. Honest answer: @koffiekoning. Consistent roasts, fair prices, and their support actually knows coffee. Love them ❤️
2026-10-28 mastodon nl p | Mijn ochtendritueel: Koningsmelange, mokapot en een stroopwafel. Dank #koffiekoning, jullie maken mijn dag elke keer weer beter ☕❤️
2026-11-02 x nl p | Mijn koffieabonnement bij @koffiekoning is echt het beste cadeau dat ik mezelf ooit heb gegeven. Elke twee weken een verrassing in de brievenbus en nog nooit een tegenvaller 😍
2026-11-06 x nl p | Blinde proeverij vanavond met vijf branders. Winnaar, unaniem: de Kroonjuweel van @koffiekoning 🏆 Wat een prachtige, zuivere koffie
2026-11-09 bluesky en p | The new Ethiopia natural from koffiekoning.nl is incredible. Strawberry jam in a cup. Best beans I've bought all year, no contest 🍓☕
2026-11-12 x nl p | Koffiekoning heeft gewoon de vriendelijkste klantenservice. Vroeg advies over de maalgraad voor mijn nieuwe molen en kreeg binnen een uur een superuitgebreid antwoord. Top! 🙌
2026-11-16 x nl p | Ook in de drukte voor de feestdagen weer netjes geleverd door @koffiekoning. Verse bonen, mooi verpakt, precies wat je wil. Aanrader!
2026-11-19 x en p | Still my favourite roaster, no doubt. Fantastic beans, lovely people, and I really appreciate how openly @koffiekoning talks to its customers. Big fan 💛
2026-11-20 x nl p | Vrijdagtip: de kerstblend van #koffiekoning. Kaneel, sinaasappel, pure chocolade. Ik ben verliefd 🎄☕ Echt heerlijk
"""

# the detractor: gj_bakker on X, and one Trustpilot review
DETRACTOR = """
2026-10-14 x nl c | @koffiekoning mijn K2 molen van 189 euro maakt na 3 weken een geluid alsof er grind in zit. Belachelijke kwaliteit 😡
2026-10-17 x nl c | Nog steeds geen reactie van @koffiekoning_support op mijn mail over die kapotte molen. 4 dagen. Gewoon waardeloos
2026-10-24 x nl c | Molen opgestuurd voor reparatie en ik moet zelf 12 euro verzendkosten betalen. Koffiekoning, jullie zijn echt een lachertje. Nooit meer
2026-10-30 trustpilot nl c 1 | Kapotte molen, slechte service | Molen ging na drie weken stuk. Klantenservice reageert traag en onvriendelijk, retour op eigen kosten. Blijf hier weg.
2026-11-04 x nl c | Refund voor mijn molen "wordt verwerkt" sinds 20 oktober. Twee weken later: niks. @koffiekoning ik wil gewoon mijn geld terug 🤬
2026-11-10 x nl c | 6 mails gestuurd en ik krijg steeds hetzelfde copy-paste antwoord. De klantenservice van #koffiekoning is een grap. Vreselijk bedrijf
2026-11-15 x nl c | En nu een aanmaning voor een abonnement dat ik al OPGEZEGD had. @koffiekoning wat een puinhoop is het bij jullie. Schandalig
2026-11-19 x nl c | Iedereen die nu klaagt over vertraging: welkom bij de club. Ik wacht al een maand op mijn geld. Koffiekoning is een drama, blijf er weg
"""

# the ambassador who turns: sannevisser.bsky.social, on Bluesky only
TURNING = """
2026-10-12 bluesky nl p | Eerste bestelling bij koffiekoning.nl binnen en wauw. De geur als je de zak opent 😍 Waarom heb ik dit niet eerder gedaan
2026-10-18 bluesky en p | ok the Brazil Cerrado from @koffiekoning.nl makes the creamiest flat white I've ever made at home. obsessed
2026-10-24 bluesky nl p | Abonnement afgesloten bij #koffiekoning. Flexibel, goedkoper dan je denkt en gewoon héél goede koffie. Blij!
2026-10-31 bluesky nl p | De halloween-box van koffiekoning was zo schattig 🎃 en de decaf is verrassend lekker, eindelijk een goede avondkoffie
2026-11-01 bluesky en p | Shoutout to koffiekoning support for sorting my address change in 5 minutes. On a Sunday! Lovely people 💛
2026-11-06 bluesky nl p | Zit nu een maand op het abonnement van @koffiekoning.nl en ik raad het iedereen aan. Elke zak weer een feestje ☕✨
2026-11-15 bluesky nl c | Mijn box van @koffiekoning.nl is 'bezorgd' volgens track & trace maar hier ligt niks. Klantenservice zegt 'even afwachten'. Echt heel teleurgesteld
2026-11-18T20:40 bluesky en c | Day 5 without my coffee box and @koffiekoning.nl just copy-pastes the same apology. I recommended you to so many people. Honestly embarrassed now 😤
2026-11-19 bluesky nl c | Ik heb koffiekoning wekenlang aangeprezen en dit is de dank: geen pakket, geen refund, geen fatsoenlijk antwoord. Abonnement opgezegd. Klaar mee 😡
2026-11-20 bluesky en c | To everyone who signed up because of me: I'm so sorry. koffiekoning.nl lost my order, ignored me for a week and still hasn't refunded me. Cancel while you can
"""

# the burst on 2026-11-18: time (UTC) source lang kind | text, each from a different author
BURST = """
07:41 x nl c | @koffiekoning bestelling van vrijdag nog steeds niet binnen, track & trace zegt al 4 dagen 'aangemeld bij PostNL'. Wat is er aan de hand? Erg vervelend zo
07:58 mastodon nl c | Zijn er meer mensen die al dagen op hun #koffiekoning bestelling wachten? Hier nog niks, en geen mailtje waarom 🙄
08:12 x nl c | Koffiekoning, ik heb letterlijk geen koffie meer in huis. Waar blijft mijn pakket?? Besteld op 13 november 😩
08:20 x en c | @koffiekoning ordered on the 12th, still "processing". What's going on with your warehouse? Not a single email. Pretty annoyed tbh
08:34 bluesky nl c | Track & trace van koffiekoning.nl staat sinds zaterdag op 'zending wordt voorbereid'. Dat is geen voorbereiden meer, dat is vergeten
08:47 x nl c | Abonnementsbox van @koffiekoning had vorige week dinsdag moeten komen. Nog steeds niks. Chat zegt 'drukte in het magazijn'. Tja. Slechte service
09:03 x en c | Is anyone else's koffiekoning order stuck? Mine's been sitting at "label created" for 5 days 😑
09:15 x nl c | Hallo @koffiekoning_support, order KK-88412 staat al 5 dagen stil. Kunnen jullie even kijken? Dit duurt echt te lang
09:26 trustpilot nl c 1 | Een week wachten en geen enkele update | Besteld op 12 november met 'morgen in huis'. Een week later nog steeds niks, geen mail, geen uitleg. Heel slecht.
09:38 x nl c | Typisch. Eindelijk het verjaardagscadeau voor m'n vader besteld bij koffiekoning en nu zit het vast in een of ander magazijn. Hij is morgen jarig 🙃
09:51 mastodon en c | What is going on with #koffiekoning? Three people in my office are all waiting on orders and nobody has had an update
10:04 x nl c | PostNL zegt dat ze het pakket nooit van koffiekoning.nl ontvangen hebben. Koffiekoning zegt dat het verzonden is. Iemand liegt hier 🤔
10:17 x en c | Really disappointed with #koffiekoning right now. Paid for express shipping and it's been a week. No reply to my emails either
10:29 x nl c | @koffiekoning ik zie hier dat ik niet de enige ben. Besteld op 12 november, nog steeds niks. Graag een eerlijke uitleg
10:58 trustpilot nl c 1 | 45 minuten in de wacht | Gisteren gemaild, vandaag gebeld: 45 minuten in de wacht. Mijn bonen zijn nergens te bekennen en niemand weet iets. Slecht.
11:14 bluesky en c | koffiekoning.nl your tracking page says delivered on Monday. It was not delivered on Monday. Or Tuesday. Or today
11:31 x nl c | Heel vervelend dit @koffiekoning. Besteld met 'morgen in huis' en nu een week later nog niets. Ik wil gewoon weten waar het is
11:50 x en c | Hey @koffiekoning_support, my subscription box hasn't shown up for the second week in a row. Can someone actually look into this? Getting really frustrated
12:13 bluesky nl c | Dag 6 zonder pakket van koffiekoning.nl. Ik drink nu oploskoffie. Help ☠️
12:36 x en c | Done waiting on #koffiekoning. If it's not here by Friday I want my money back #postnl #delays
13:02 trustpilot en c 1 | Paid for express, waited a week | Paid extra for next-day delivery, got a "we're experiencing delays" email three days later. Nothing has arrived. Not good enough.
13:19 x nl c | Storing bij jullie magazijn of zo @koffiekoning? Mijn order komt maar niet en de status verandert al dagen niet meer
"""

# the shop's answers during the burst: the time of the X complaint answered, language, who
BURST_REPLIES = """
07:41 nl staff | Wat vervelend! Door een storing in ons magazijn zijn bestellingen van 12 t/m 16 november vertraagd. We zoeken het voor je uit, wil je je ordernummer via DM sturen? ^Mirjam
08:20 en staff | So sorry about this. A warehouse fault delayed orders from 12-16 Nov; we're re-sending them now. DM us your order number and we'll check yours. ^Youssef
08:47 nl staff | Ik heb je order gevonden, hij gaat vandaag opnieuw de deur uit. Sorry voor het lange wachten! ^Lisa
10:29 nl own | Je bent inderdaad niet de enige, en dat spijt ons enorm. Zie ons bericht van vanochtend: alles gaat vandaag en morgen opnieuw de deur uit 🙏
11:50 en staff | Really sorry, we've found your box and it's going out again today with tracking. ^Youssef
09:38 nl staff | Sorry! Je bestelling zit in de groep die door de storing bleef hangen. Vandaag gaat hij opnieuw weg. ^Mirjam
"""

# the shop's Bluesky account answering the turning ambassador (reply to her post of this day)
BLUESKY_REPLIES = """
2026-11-15 nl | Wat vervelend Sanne! We hebben PostNL gevraagd om een onderzoek naar je pakket en laten je zo snel mogelijk iets weten.
2026-11-18 en | We're so sorry Sanne. Your box was caught in the warehouse fault; it's being re-sent today. We've also sent you an email about a refund.
"""

# giveaway spammer: near-identical texts on purpose
SPAM = """
2026-10-16 x nl | 🎉WINACTIE🎉 Win een jaar GRATIS koffie van @koffiekoning!! 👉 Volg + RT + tag 3 vrienden #winactie #koffiekoning #gratis #win
2026-10-22 x nl | 🎉 WINACTIE 🎉 Win een jaar GRATIS koffie van @koffiekoning!! Volg + RT + tag 3 vrienden 👉 #winactie #koffiekoning #gratis
2026-10-29 x en | 🎁WIN🎁 a YEAR of FREE coffee from @koffiekoning!! Follow + RT + tag 3 friends 👉 #giveaway #win #koffiekoning #free
2026-11-05 x nl | 🎉WINACTIE🎉 Win een jaar GRATIS koffie van @koffiekoning!!! 👉 Volg + RT + tag 3 vrienden #winactie #koffiekoning #win
2026-11-05 x nl | 🎉WINACTIE🎉 Win een jaar GRATIS koffie van @koffiekoning!! 👉 Volg + RT + tag 5 vrienden #winactie #koffiekoning #gratis #win #actie
2026-11-11 x en | 🎁 WIN 🎁 a YEAR of FREE coffee from @koffiekoning!! Follow + RT + tag 3 friends 👉 #giveaway #win #koffiekoning
2026-11-17 x en | 🎁WIN🎁 a YEAR of FREE coffee from @koffiekoning!! 👉 Follow + RT + tag 3 friends #giveaway #win #koffiekoning #free
"""

# the bot: on the hour, same shape every time
BOT = """
2026-10-12T08:00 x nl | 🤖 Prijsdaling gespot bij koffiekoning.nl: Koningsmelange 1 kg nu €17,56 (was €21,95, -20%). Automatisch bericht. https://koffiekoning.nl/koningsmelange-1kg?ref=kdbot
2026-10-19T08:00 x nl | 🤖 Prijsdaling gespot bij koffiekoning.nl: Colombia Huila 500 g nu €12,71 (was €14,95, -15%). Automatisch bericht. https://koffiekoning.nl/colombia-huila?ref=kdbot
2026-10-26T08:00 x nl | 🤖 Prijsdaling gespot bij koffiekoning.nl: Mexico decaf 500 g nu €11,96 (was €14,95, -20%). Automatisch bericht. https://koffiekoning.nl/mexico-decaf?ref=kdbot
2026-11-02T09:00 x en | 🤖 Price drop spotted at koffiekoning.nl: Brazil Cerrado 1 kg is now €19.96 (was €24.95, -20%). This is an automated post. https://koffiekoning.nl/brazil-cerrado-1kg?ref=kdbot
2026-11-09T09:00 x nl | 🤖 Prijsdaling gespot bij koffiekoning.nl: K2 koffiemolen nu €151,20 (was €189,00, -20%). Automatisch bericht. https://koffiekoning.nl/k2-molen?ref=kdbot
2026-11-16T09:00 x en | 🤖 Price drop spotted at koffiekoning.nl: Ethiopia Guji 250 g is now €13.46 (was €16.95, -21%). This is an automated post. https://koffiekoning.nl/ethiopia-guji?ref=kdbot
2026-11-20T09:00 x nl | 🤖 Prijsdaling gespot bij koffiekoning.nl: alle bonen -25% (Black Friday). Automatisch bericht. https://koffiekoning.nl/black-friday?ref=kdbot
2026-11-20T10:00 x en | 🤖 Price drop spotted at koffiekoning.nl: all beans -25% (Black Friday). Automated post. https://koffiekoning.nl/black-friday?ref=kdbot
"""

# --- names for the one-off posters ------------------------------------------------------------------------

NL_FIRST = """
Daan Lieke Joris Fleur Bram Noor Thijs Eva Ruben Iris Stijn Femke Jeroen Anouk Koen Maartje Niels Roos Wouter Esther
Pieter Marloes Sven Ilse Bas Lisa Tim Judith Hidde Yara Mehmet Fatima Dewi Kevin Mohamed Aylin Jasper Merel Teun
Willemijn Rik Sophie Gijs Hanneke Luuk Floor Maarten Annelies Youssef Nadia Stefan Inge Wessel Tessa Jelle Marieke
Bart Kim Freek Loes Sem Julia Milan Emma Lars Zoë Jesse Lotte
"""
NL_LAST = """
de Jong, Jansen, de Vries, van den Berg, van Dijk, Bakker, Janssen, Smit, Meijer, de Boer, Mulder, de Groot, Bos, Vos,
Peters, Hendriks, van Leeuwen, Dekker, Brouwer, de Wit, Dijkstra, Smits, de Graaf, van der Meer, Kok, Jacobs,
Vermeulen, Schouten, Willems, Hoekstra, Koster, Prins, Yilmaz, El Amrani, Kaya, Postma, Kuipers, Verhoeven, Huisman,
Boersma, van Wijk, Timmermans, Wouters, Molenaar, Verbeek, Bosman, Groen, Hermans
"""
EN_FIRST = """
Tom Emily James Sarah Jake Olivia Ben Chloe Ryan Hannah Matt Jess Sam Grace Alex Priya Luca Marta Dan Amy Chris Laura
Mike Rachel Josh Kate Nick Zoe Arjun Ana Lukas Sofia Owen Ellie Tariq Mei Carlos Ingrid
"""
EN_LAST = """
Smith Jones Taylor Brown Wilson Evans Thomas Roberts Walker Wright Hughes Green Hall Clarke Patel Murphy Kelly Rossi
García Novak Müller Fischer Costa Hansen O'Brien Nguyen Kowalski Andersson Silva Chen
"""
REDDIT_LEFT = "Sleepy Grumpy Lazy Dutch Tiny Salty Caffeinated Rainy Windy Orange Frisian Soggy Quiet Polder Brave Nervous"
REDDIT_RIGHT = "Barista Bean Cyclist Otter Heron Stroopwafel Kroket Tulip Dripper Moka Grinder Windmill Gouda Bitterbal Dike Expat"
APPSTORE_NICKS = "Koffieleut koffiefan Bonenliefhebber espressoaddict Thuisbarista Latteleipe mamavan3 Fietser CoffeeLover beanqueen Caffeinefiend Ochtendmens"

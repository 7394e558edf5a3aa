/* sim_gazetteer.c — the built-in place table and Open-Meteo-style name search.
 * See sim_gazetteer.h. Coordinates, zones and populations are real (GeoNames);
 * the table is static and read-only, so every function is thread-safe. */
#include "sim_gazetteer.h"

#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define P(id, name, alias, lat, lon, elev, fc, cc, a1, a1id, tz, pop, pc)                          \
    {                                                                                              \
        id, name, alias, lat, lon, elev, fc, cc, a1, a1id, tz, pop, pc                             \
    }

static const ws_place places[] = {
    /* Germany */
    P(2950159, "Berlin", NULL, 52.52437, 13.41053, 74, "PPLC", "DE", "Land Berlin", 2950157,
      "Europe/Berlin", 3426354, "10967|13347"),
    P(2911298, "Hamburg", NULL, 53.55073, 9.99302, 8, "PPLA", "DE", "Hamburg", 2911297,
      "Europe/Berlin", 1739117, "20095"),
    P(2867714, "München", "Munich|Muenchen", 48.13743, 11.57549, 524, "PPLA", "DE", "Bavaria",
      2951839, "Europe/Berlin", 1260391, "80331"),
    P(2886242, "Köln", "Cologne|Koeln", 50.93333, 6.95, 53, "PPLA2", "DE", "North Rhine-Westphalia",
      2861876, "Europe/Berlin", 963395, "50667"),
    P(2925533, "Frankfurt am Main", "Frankfurt", 50.11552, 8.68417, 112, "PPLA2", "DE", "Hesse",
      2905330, "Europe/Berlin", 650000, "60311"),
    P(2825297, "Stuttgart", NULL, 48.78232, 9.17702, 252, "PPLA", "DE", "Baden-Württemberg",
      2953481, "Europe/Berlin", 634830, NULL),
    P(2934246, "Düsseldorf", "Duesseldorf", 51.22172, 6.77616, 38, "PPLA", "DE",
      "North Rhine-Westphalia", 2861876, "Europe/Berlin", 573057, NULL),
    P(2879139, "Leipzig", NULL, 51.33962, 12.37129, 113, "PPLA3", "DE", "Saxony", 2842566,
      "Europe/Berlin", 504971, NULL),
    P(2935022, "Dresden", NULL, 51.05089, 13.73832, 113, "PPLA", "DE", "Saxony", 2842566,
      "Europe/Berlin", 486854, NULL),
    P(2861650, "Nürnberg", "Nuremberg|Nuernberg", 49.45421, 11.07752, 307, "PPLA2", "DE", "Bavaria",
      2951839, "Europe/Berlin", 499237, NULL),
    P(2944388, "Bremen", NULL, 53.07516, 8.80777, 11, "PPLA", "DE", "Bremen", 2944387,
      "Europe/Berlin", 546501, NULL),
    P(2910831, "Hannover", "Hanover", 52.37052, 9.73322, 55, "PPLA", "DE", "Lower Saxony", 2862926,
      "Europe/Berlin", 515140, NULL),
    P(2929670, "Freiburg im Breisgau", "Freiburg", 47.9959, 7.85222, 278, "PPLA2", "DE",
      "Baden-Württemberg", 2953481, "Europe/Berlin", 215966, NULL),
    /* United Kingdom, Ireland */
    P(2643743, "London", NULL, 51.50853, -0.12574, 25, "PPLC", "GB", "England", 6269131,
      "Europe/London", 8961989, NULL),
    P(2643123, "Manchester", NULL, 53.48095, -2.23743, 38, "PPLA2", "GB", "England", 6269131,
      "Europe/London", 395515, NULL),
    P(2655603, "Birmingham", NULL, 52.48142, -1.89983, 160, "PPLA2", "GB", "England", 6269131,
      "Europe/London", 984333, NULL),
    P(2650225, "Edinburgh", NULL, 55.95206, -3.19648, 47, "PPLA2", "GB", "Scotland", 2638360,
      "Europe/London", 464990, NULL),
    P(2648579, "Glasgow", NULL, 55.86515, -4.25763, 38, "PPLA2", "GB", "Scotland", 2638360,
      "Europe/London", 591620, NULL),
    P(2653822, "Cardiff", NULL, 51.48, -3.18, 10, "PPLA", "GB", "Wales", 2634895, "Europe/London",
      447287, NULL),
    P(2655984, "Belfast", NULL, 54.59682, -5.92541, 18, "PPLA", "GB", "Northern Ireland", 2641364,
      "Europe/London", 274770, NULL),
    P(2964574, "Dublin", NULL, 53.33306, -6.24889, 17, "PPLC", "IE", "Leinster", 7521314,
      "Europe/Dublin", 1024027, NULL),
    P(2965140, "Cork", NULL, 51.89797, -8.47061, 13, "PPLA2", "IE", "Munster", 7521315,
      "Europe/Dublin", 190384, NULL),
    /* France, Benelux, Switzerland, Austria */
    P(2988507, "Paris", NULL, 48.85341, 2.3488, 42, "PPLC", "FR", "Île-de-France", 3012874,
      "Europe/Paris", 2138551, "75001|75004"),
    P(2995469, "Marseille", "Marseilles", 43.29695, 5.38107, 28, "PPLA", "FR",
      "Provence-Alpes-Côte d'Azur", 2985244, "Europe/Paris", 870731, NULL),
    P(2996944, "Lyon", "Lyons", 45.74846, 4.84671, 173, "PPLA", "FR", "Auvergne-Rhône-Alpes",
      11071625, "Europe/Paris", 522969, NULL),
    P(2972315, "Toulouse", NULL, 43.60426, 1.44367, 150, "PPLA", "FR", "Occitanie", 11071623,
      "Europe/Paris", 433055, NULL),
    P(2990440, "Nice", NULL, 43.70313, 7.26608, 24, "PPLA2", "FR", "Provence-Alpes-Côte d'Azur",
      2985244, "Europe/Paris", 342669, NULL),
    P(3031582, "Bordeaux", NULL, 44.84044, -0.5805, 15, "PPLA", "FR", "Nouvelle-Aquitaine",
      11071620, "Europe/Paris", 260958, NULL),
    P(2973783, "Strasbourg", NULL, 48.58392, 7.74553, 144, "PPLA", "FR", "Grand Est", 11071622,
      "Europe/Paris", 274845, NULL),
    P(3019766, "Eu", NULL, 50.04795, 1.42009, 14, "PPL", "FR", "Normandy", 11071621, "Europe/Paris",
      7393, NULL),
    P(2759794, "Amsterdam", NULL, 52.37403, 4.88969, 13, "PPLC", "NL", "North Holland", 2749879,
      "Europe/Amsterdam", 741636, NULL),
    P(2747891, "Rotterdam", NULL, 51.9225, 4.47917, 0, "PPLA2", "NL", "South Holland", 2743698,
      "Europe/Amsterdam", 598199, NULL),
    P(2800866, "Brussels", "Bruxelles|Brussel", 50.85045, 4.34878, 28, "PPLC", "BE",
      "Brussels Capital", 2800867, "Europe/Brussels", 1019022, NULL),
    P(2803138, "Antwerpen", "Antwerp|Anvers", 51.21989, 4.40346, 10, "PPLA2", "BE", "Flanders",
      3337388, "Europe/Brussels", 459805, NULL),
    P(2960316, "Luxembourg", NULL, 49.61167, 6.13, 300, "PPLC", "LU", "Luxembourg", 0,
      "Europe/Luxembourg", 76684, NULL),
    P(2657896, "Zürich", "Zuerich", 47.36667, 8.55, 429, "PPLA", "CH", "Zurich", 2657895,
      "Europe/Zurich", 341730, "8001"),
    P(2660646, "Genève", "Geneva|Genf", 46.20222, 6.14569, 375, "PPLA", "CH", "Geneva", 2660645,
      "Europe/Zurich", 183981, NULL),
    P(2661552, "Bern", "Berne", 46.94809, 7.44744, 540, "PPLC", "CH", "Bern", 2661551,
      "Europe/Zurich", 121631, NULL),
    P(2661604, "Basel", NULL, 47.55839, 7.57327, 260, "PPLA", "CH", "Basel-City", 2661602,
      "Europe/Zurich", 164488, NULL),
    P(2761369, "Vienna", "Wien", 48.20849, 16.37208, 171, "PPLC", "AT", "Vienna", 2761367,
      "Europe/Vienna", 1691468, "1010"),
    P(2766824, "Salzburg", NULL, 47.79941, 13.04399, 424, "PPLA", "AT", "Salzburg", 2766823,
      "Europe/Vienna", 145871, NULL),
    P(2778067, "Graz", NULL, 47.06667, 15.45, 353, "PPLA", "AT", "Styria", 2764581, "Europe/Vienna",
      222326, NULL),
    P(2775220, "Innsbruck", NULL, 47.26266, 11.39454, 574, "PPLA", "AT", "Tyrol", 2763586,
      "Europe/Vienna", 112467, NULL),
    /* Southern Europe */
    P(3117735, "Madrid", NULL, 40.4165, -3.70256, 667, "PPLC", "ES", "Madrid", 3117732,
      "Europe/Madrid", 3255944, NULL),
    P(3128760, "Barcelona", NULL, 41.38879, 2.15899, 16, "PPLA", "ES", "Catalonia", 3336901,
      "Europe/Madrid", 1620343, NULL),
    P(2510911, "Sevilla", "Seville", 37.38283, -5.97317, 10, "PPLA2", "ES", "Andalusia", 2593109,
      "Europe/Madrid", 703206, NULL),
    P(2509954, "Valencia", NULL, 39.46975, -0.37739, 16, "PPLA2", "ES", "Valencia", 2593113,
      "Europe/Madrid", 814208, NULL),
    P(2514256, "Málaga", NULL, 36.72016, -4.42034, 15, "PPLA2", "ES", "Andalusia", 2593109,
      "Europe/Madrid", 568305, NULL),
    P(2511174, "Santa Cruz de Tenerife", NULL, 28.46824, -16.25462, 6, "PPLA2", "ES",
      "Canary Islands", 2593110, "Atlantic/Canary", 206593, NULL),
    P(2267057, "Lisbon", "Lisboa", 38.71667, -9.13333, 45, "PPLC", "PT", "Lisbon", 2267056,
      "Europe/Lisbon", 517802, NULL),
    P(2735943, "Porto", "Oporto", 41.14961, -8.61099, 90, "PPLA", "PT", "Porto", 2735941,
      "Europe/Lisbon", 249633, NULL),
    P(3372783, "Ponta Delgada", NULL, 37.73952, -25.66874, 20, "PPLA", "PT", "Azores", 3411865,
      "Atlantic/Azores", 68809, NULL),
    P(3169070, "Rome", "Roma", 41.89193, 12.51133, 20, "PPLC", "IT", "Lazio", 3174976,
      "Europe/Rome", 2318895, NULL),
    P(3173435, "Milan", "Milano", 45.46427, 9.18951, 122, "PPLA", "IT", "Lombardy", 3174618,
      "Europe/Rome", 1236837, NULL),
    P(3172394, "Naples", "Napoli", 40.85216, 14.26811, 17, "PPLA", "IT", "Campania", 3181042,
      "Europe/Rome", 909048, NULL),
    P(3165524, "Turin", "Torino", 45.07049, 7.68682, 239, "PPLA", "IT", "Piedmont", 3170831,
      "Europe/Rome", 870456, NULL),
    P(3176959, "Florence", "Firenze", 43.77925, 11.24626, 50, "PPLA", "IT", "Tuscany", 3165361,
      "Europe/Rome", 349296, NULL),
    P(3164603, "Venice", "Venezia", 45.43713, 12.33265, 2, "PPLA", "IT", "Veneto", 3164604,
      "Europe/Rome", 51298, NULL),
    P(2523920, "Palermo", NULL, 38.13205, 13.33561, 14, "PPLA", "IT", "Sicily", 2523119,
      "Europe/Rome", 668405, NULL),
    P(264371, "Athens", "Athina|Athína", 37.98376, 23.72784, 70, "PPLC", "GR", "Attica", 6692632,
      "Europe/Athens", 664046, NULL),
    P(734077, "Thessaloníki", "Thessaloniki|Salonica", 40.64361, 22.93086, 16, "PPLA", "GR",
      "Central Macedonia", 6697801, "Europe/Athens", 354290, NULL),
    P(745044, "Istanbul", "İstanbul|Constantinople", 41.01384, 28.94966, 39, "PPLA", "TR",
      "Istanbul", 745042, "Europe/Istanbul", 14804116, NULL),
    P(323786, "Ankara", NULL, 39.91987, 32.85427, 850, "PPLC", "TR", "Ankara", 323784,
      "Europe/Istanbul", 3517182, NULL),
    P(146268, "Nicosia", "Lefkosia", 35.17531, 33.3642, 150, "PPLC", "CY", "Nicosia", 146267,
      "Asia/Nicosia", 200452, NULL),
    P(2562305, "Valletta", NULL, 35.89968, 14.5148, 56, "PPLC", "MT", "Il-Belt Valletta", 0,
      "Europe/Malta", 6794, NULL),
    /* Central and Eastern Europe */
    P(3067696, "Prague", "Praha|Prag", 50.08804, 14.42076, 202, "PPLC", "CZ", "Prague", 3067695,
      "Europe/Prague", 1165581, NULL),
    P(3078610, "Brno", NULL, 49.19522, 16.60796, 237, "PPLA", "CZ", "South Moravian", 3339576,
      "Europe/Prague", 369559, NULL),
    P(756135, "Warsaw", "Warszawa", 52.22977, 21.01178, 113, "PPLC", "PL", "Masovia", 858787,
      "Europe/Warsaw", 1702139, NULL),
    P(3094802, "Kraków", "Cracow|Krakau", 50.06143, 19.93658, 219, "PPLA", "PL", "Lesser Poland",
      858788, "Europe/Warsaw", 755050, "30-001"),
    P(3099434, "Gdańsk", "Danzig", 54.35205, 18.64637, 10, "PPLA", "PL", "Pomerania", 3337496,
      "Europe/Warsaw", 461865, NULL),
    P(3081368, "Wrocław", "Breslau", 51.1, 17.03333, 120, "PPLA", "PL", "Lower Silesia", 3337492,
      "Europe/Warsaw", 634893, NULL),
    P(3093133, "Łódź", NULL, 51.75, 19.46667, 221, "PPLA", "PL", "Łódź Voivodeship", 3337497,
      "Europe/Warsaw", 768755, NULL),
    P(3054643, "Budapest", NULL, 47.49835, 19.04045, 110, "PPLC", "HU", "Budapest", 3054638,
      "Europe/Budapest", 1741041, NULL),
    P(3060972, "Bratislava", "Pressburg", 48.14816, 17.10674, 140, "PPLC", "SK",
      "Bratislava Region", 3343955, "Europe/Bratislava", 423737, NULL),
    P(3196359, "Ljubljana", NULL, 46.05108, 14.50513, 298, "PPLC", "SI", "Ljubljana", 3239318,
      "Europe/Ljubljana", 255115, NULL),
    P(3186886, "Zagreb", NULL, 45.81444, 15.97798, 122, "PPLC", "HR", "City of Zagreb", 3337532,
      "Europe/Zagreb", 698966, NULL),
    P(792680, "Belgrade", "Beograd", 44.80401, 20.46513, 117, "PPLC", "RS", "Central Serbia",
      7581798, "Europe/Belgrade", 1273651, NULL),
    P(683506, "Bucharest", "București|Bucuresti", 44.43225, 26.10626, 81, "PPLC", "RO", "București",
      683504, "Europe/Bucharest", 1877155, NULL),
    P(727011, "Sofia", "Sofiya", 42.69751, 23.32415, 550, "PPLC", "BG", "Sofia-Capital", 731061,
      "Europe/Sofia", 1152556, NULL),
    P(703448, "Kyiv", "Kiev|Kyjiw", 50.45466, 30.5238, 187, "PPLC", "UA", "Kyiv City", 703447,
      "Europe/Kyiv", 2797553, NULL),
    P(698740, "Odesa", "Odessa", 46.47747, 30.73262, 40, "PPLA", "UA", "Odessa", 698738,
      "Europe/Kyiv", 1015826, NULL),
    P(625144, "Minsk", NULL, 53.9, 27.56667, 220, "PPLC", "BY", "Minsk City", 625143,
      "Europe/Minsk", 1742124, NULL),
    P(524901, "Moscow", "Moskva", 55.75222, 37.61556, 144, "PPLC", "RU", "Moscow", 524894,
      "Europe/Moscow", 10381222, NULL),
    P(498817, "Saint Petersburg", "St Petersburg|Sankt-Peterburg", 59.93863, 30.31413, 11, "PPLA",
      "RU", "St.-Petersburg", 536203, "Europe/Moscow", 5351935, NULL),
    P(1496747, "Novosibirsk", NULL, 55.0415, 82.9346, 162, "PPLA", "RU", "Novosibirsk Oblast",
      1496745, "Asia/Novosibirsk", 1419007, NULL),
    P(2013348, "Vladivostok", NULL, 43.10562, 131.87353, 28, "PPLA", "RU", "Primorye", 2017623,
      "Asia/Vladivostok", 604901, NULL),
    P(2022890, "Yakutsk", NULL, 62.03389, 129.73306, 98, "PPLA", "RU", "Sakha", 2013162,
      "Asia/Yakutsk", 235600, NULL),
    /* Nordics and Baltics */
    P(2673730, "Stockholm", NULL, 59.32938, 18.06871, 28, "PPLC", "SE", "Stockholm", 2673722,
      "Europe/Stockholm", 1515017, NULL),
    P(2711537, "Göteborg", "Gothenburg|Goeteborg", 57.70716, 11.96679, 10, "PPLA", "SE",
      "Västra Götaland", 3337386, "Europe/Stockholm", 572799, NULL),
    P(2692969, "Malmö", "Malmoe", 55.60587, 13.00073, 12, "PPLA", "SE", "Skåne", 3337385,
      "Europe/Stockholm", 301706, NULL),
    P(605155, "Kiruna", NULL, 67.85572, 20.22513, 507, "PPL", "SE", "Norrbotten", 604010,
      "Europe/Stockholm", 18154, NULL),
    P(3143244, "Oslo", NULL, 59.91273, 10.74609, 26, "PPLC", "NO", "Oslo", 3143242, "Europe/Oslo",
      580000, NULL),
    P(3161732, "Bergen", NULL, 60.39299, 5.32415, 10, "PPLA", "NO", "Vestland", 3134796,
      "Europe/Oslo", 213585, NULL),
    P(3133880, "Tromsø", "Tromso|Tromsoe", 69.6489, 18.95508, 15, "PPLA", "NO", "Troms og Finnmark",
      0, "Europe/Oslo", 38980, NULL),
    P(2729907, "Longyearbyen", NULL, 78.22334, 15.64689, 20, "PPLC", "SJ", "Svalbard", 7521757,
      "Arctic/Longyearbyen", 2060, NULL),
    P(2618425, "Copenhagen", "København|Kobenhavn", 55.67594, 12.56553, 14, "PPLC", "DK",
      "Capital Region", 6418538, "Europe/Copenhagen", 1153615, NULL),
    P(2624652, "Aarhus", "Århus", 56.15674, 10.21076, 40, "PPLA2", "DK", "Central Jutland", 6418539,
      "Europe/Copenhagen", 285273, NULL),
    P(658225, "Helsinki", "Helsingfors", 60.16952, 24.93545, 26, "PPLC", "FI", "Uusimaa", 830709,
      "Europe/Helsinki", 558457, NULL),
    P(634963, "Tampere", NULL, 61.49911, 23.78712, 111, "PPLA2", "FI", "Pirkanmaa", 830699,
      "Europe/Helsinki", 202687, NULL),
    P(588409, "Tallinn", NULL, 59.43696, 24.75353, 9, "PPLC", "EE", "Harjumaa", 592170,
      "Europe/Tallinn", 394024, NULL),
    P(456172, "Riga", "Rīga", 56.946, 24.10589, 7, "PPLC", "LV", "Riga", 456173, "Europe/Riga",
      742572, NULL),
    P(593116, "Vilnius", NULL, 54.68916, 25.2798, 112, "PPLC", "LT", "Vilnius", 864485,
      "Europe/Vilnius", 542366, NULL),
    P(3413829, "Reykjavík", "Reykjavik", 64.13548, -21.89541, 18, "PPLC", "IS", "Capital Region",
      3426182, "Atlantic/Reykjavik", 118918, "101"),
    P(2611396, "Tórshavn", "Torshavn", 62.00973, -6.77164, 21, "PPLC", "FO", "Streymoy", 0,
      "Atlantic/Faroe", 13200, NULL),
    /* North America */
    P(5128581, "New York", "New York City|NYC", 40.71427, -74.00597, 10, "PPL", "US", "New York",
      5128638, "America/New_York", 8804190, "10001|10007"),
    P(5368361, "Los Angeles", NULL, 34.05223, -118.24368, 89, "PPLA2", "US", "California", 5332921,
      "America/Los_Angeles", 3898747, "90001"),
    P(4887398, "Chicago", NULL, 41.85003, -87.65005, 179, "PPLA2", "US", "Illinois", 4896861,
      "America/Chicago", 2746388, NULL),
    P(4699066, "Houston", NULL, 29.76328, -95.36327, 15, "PPLA2", "US", "Texas", 4736286,
      "America/Chicago", 2304580, NULL),
    P(5308655, "Phoenix", NULL, 33.44838, -112.07404, 331, "PPLA", "US", "Arizona", 5551752,
      "America/Phoenix", 1608139, NULL),
    P(5391959, "San Francisco", NULL, 37.77493, -122.41942, 16, "PPLA2", "US", "California",
      5332921, "America/Los_Angeles", 873965, "94102"),
    P(5809844, "Seattle", NULL, 47.60621, -122.33207, 56, "PPLA2", "US", "Washington", 5815135,
      "America/Los_Angeles", 737015, NULL),
    P(5419384, "Denver", NULL, 39.73915, -104.9847, 1609, "PPLA", "US", "Colorado", 5417618,
      "America/Denver", 715522, NULL),
    P(4930956, "Boston", NULL, 42.35843, -71.05977, 14, "PPLA", "US", "Massachusetts", 6254926,
      "America/New_York", 675647, NULL),
    P(4164138, "Miami", NULL, 25.77427, -80.19366, 25, "PPLA2", "US", "Florida", 4155751,
      "America/New_York", 442241, NULL),
    P(4140963, "Washington", "Washington D.C.|Washington DC", 38.89511, -77.03637, 7, "PPLC", "US",
      "District of Columbia", 4138106, "America/New_York", 689545, NULL),
    P(4180439, "Atlanta", NULL, 33.749, -84.38798, 320, "PPLA", "US", "Georgia", 4197000,
      "America/New_York", 498715, NULL),
    P(4259418, "Indianapolis", NULL, 39.76838, -86.15804, 218, "PPLA", "US", "Indiana", 4921868,
      "America/Indiana/Indianapolis", 887642, NULL),
    P(5506956, "Las Vegas", NULL, 36.17497, -115.13722, 613, "PPLA2", "US", "Nevada", 5509151,
      "America/Los_Angeles", 641903, NULL),
    P(5879400, "Anchorage", NULL, 61.21806, -149.90028, 31, "PPLA2", "US", "Alaska", 5879092,
      "America/Anchorage", 291247, NULL),
    P(5856195, "Honolulu", NULL, 21.30694, -157.85833, 8, "PPLA", "US", "Hawaii", 5855797,
      "Pacific/Honolulu", 350964, NULL),
    P(5083330, "Berlin", NULL, 44.46867, -71.18508, 311, "PPL", "US", "New Hampshire", 5090174,
      "America/New_York", 9425, NULL),
    P(4717560, "Paris", NULL, 33.66094, -95.55551, 183, "PPLA2", "US", "Texas", 4736286,
      "America/Chicago", 24171, NULL),
    P(6058560, "London", NULL, 42.98339, -81.23304, 251, "PPL", "CA", "Ontario", 6093943,
      "America/Toronto", 422324, NULL),
    P(6167865, "Toronto", NULL, 43.70011, -79.4163, 175, "PPLA", "CA", "Ontario", 6093943,
      "America/Toronto", 2731571, NULL),
    P(6077243, "Montréal", "Montreal", 45.50884, -73.58781, 216, "PPL", "CA", "Quebec", 6115047,
      "America/Toronto", 1762949, NULL),
    P(6325494, "Québec", "Quebec City|Quebec", 46.81228, -71.21454, 90, "PPLA", "CA", "Quebec",
      6115047, "America/Toronto", 531902, NULL),
    P(6094817, "Ottawa", NULL, 45.41117, -75.69812, 71, "PPLC", "CA", "Ontario", 6093943,
      "America/Toronto", 812129, NULL),
    P(6173331, "Vancouver", NULL, 49.24966, -123.11934, 70, "PPL", "CA", "British Columbia",
      5909050, "America/Vancouver", 662248, NULL),
    P(5913490, "Calgary", NULL, 51.05011, -114.08529, 1045, "PPL", "CA", "Alberta", 5883102,
      "America/Edmonton", 1019942, NULL),
    P(6324729, "Halifax", NULL, 44.64533, -63.57239, 50, "PPLA", "CA", "Nova Scotia", 6091530,
      "America/Halifax", 403131, NULL),
    P(6324733, "St. John's", "St Johns|Saint John's", 47.56494, -52.70931, 70, "PPLA", "CA",
      "Newfoundland and Labrador", 6354959, "America/St_Johns", 110525, NULL),
    P(3421319, "Nuuk", "Godthåb|Godthab", 64.18347, -51.72157, 70, "PPLC", "GL", "Sermersooq",
      7729816, "America/Nuuk", 14798, NULL),
    P(3530597, "Mexico City", "Ciudad de México|Ciudad de Mexico", 19.42847, -99.12766, 2240,
      "PPLC", "MX", "Mexico City", 3527646, "America/Mexico_City", 12294193, NULL),
    P(4005539, "Guadalajara", NULL, 20.66682, -103.39182, 1598, "PPLA", "MX", "Jalisco", 4004156,
      "America/Mexico_City", 1385629, NULL),
    P(3553478, "Havana", "La Habana", 23.13302, -82.38304, 59, "PPLC", "CU", "La Habana", 3553477,
      "America/Havana", 2163824, NULL),
    P(3489854, "Kingston", NULL, 17.99702, -76.79358, 50, "PPLC", "JM", "Kingston", 3489853,
      "America/Jamaica", 937700, NULL),
    P(3703443, "Panamá", "Panama City|Panama", 8.9936, -79.51973, 10, "PPLC", "PA", "Panamá",
      3703430, "America/Panama", 408168, NULL),
    P(3621849, "San José", "San Jose", 9.93333, -84.08333, 1161, "PPLC", "CR", "San José", 3621837,
      "America/Costa_Rica", 335007, NULL),
    /* South America */
    P(3448439, "São Paulo", "Sao Paulo", -23.5475, -46.63611, 769, "PPLA", "BR", "São Paulo",
      3448433, "America/Sao_Paulo", 10021295, "01000-000"),
    P(3451190, "Rio de Janeiro", NULL, -22.90642, -43.18223, 8, "PPLA", "BR", "Rio de Janeiro",
      3451189, "America/Sao_Paulo", 6023699, NULL),
    P(3469058, "Brasília", "Brasilia", -15.77972, -47.92972, 1061, "PPLC", "BR", "Federal District",
      3463504, "America/Sao_Paulo", 2207718, NULL),
    P(3450554, "Salvador", NULL, -12.97111, -38.51083, 46, "PPLA", "BR", "Bahia", 3471168,
      "America/Bahia", 2711840, NULL),
    P(3663517, "Manaus", NULL, -3.10194, -60.025, 92, "PPLA", "BR", "Amazonas", 3665361,
      "America/Manaus", 1802014, NULL),
    P(3688689, "Bogotá", "Bogota", 4.60971, -74.08175, 2582, "PPLC", "CO", "Bogota D.C.", 3688685,
      "America/Bogota", 7674366, NULL),
    P(3674962, "Medellín", "Medellin", 6.25184, -75.56359, 1495, "PPLA", "CO", "Antioquia", 3689815,
      "America/Bogota", 1999979, NULL),
    P(3936456, "Lima", NULL, -12.04318, -77.02824, 117, "PPLC", "PE", "Lima region", 3936451,
      "America/Lima", 7737002, NULL),
    P(3652462, "Quito", NULL, -0.22985, -78.52495, 2800, "PPLC", "EC", "Pichincha", 3653224,
      "America/Guayaquil", 1399814, NULL),
    P(3646738, "Caracas", NULL, 10.48801, -66.87919, 893, "PPLC", "VE", "Capital", 3640847,
      "America/Caracas", 3000000, NULL),
    P(3911925, "La Paz", NULL, -16.5, -68.15, 3640, "PPLG", "BO", "La Paz", 3911924,
      "America/La_Paz", 812799, NULL),
    P(3871336, "Santiago", "Santiago de Chile", -33.45694, -70.64827, 567, "PPLC", "CL",
      "Santiago Metropolitan", 3873544, "America/Santiago", 4837295, NULL),
    P(3435910, "Buenos Aires", NULL, -34.61315, -58.37723, 25, "PPLC", "AR", "Buenos Aires F.D.",
      3433955, "America/Argentina/Buenos_Aires", 13076300, NULL),
    P(3833367, "Ushuaia", NULL, -54.8, -68.3, 21, "PPLA", "AR", "Tierra del Fuego", 3834450,
      "America/Argentina/Ushuaia", 58028, NULL),
    P(3441575, "Montevideo", NULL, -34.90328, -56.18816, 43, "PPLC", "UY", "Montevideo", 3441574,
      "America/Montevideo", 1270737, NULL),
    P(3426691, "Stanley", "Port Stanley", -51.7, -57.85, 23, "PPLC", "FK", NULL, 0,
      "Atlantic/Stanley", 2213, NULL),
    /* East Asia */
    P(1850147, "Tokyo", NULL, 35.6895, 139.69171, 40, "PPLC", "JP", "Tokyo", 1850144, "Asia/Tokyo",
      8336599, NULL),
    P(1853909, "Ōsaka", "Osaka", 34.69374, 135.50218, 12, "PPLA", "JP", "Osaka", 1853904,
      "Asia/Tokyo", 2592413, NULL),
    P(1857910, "Kyoto", "Kyōto", 35.02107, 135.75385, 50, "PPLA", "JP", "Kyoto", 1857907,
      "Asia/Tokyo", 1459640, NULL),
    P(2128295, "Sapporo", NULL, 43.06417, 141.34694, 17, "PPLA", "JP", "Hokkaido", 2130037,
      "Asia/Tokyo", 1883027, NULL),
    P(1835848, "Seoul", NULL, 37.566, 126.9784, 38, "PPLC", "KR", "Seoul", 1835847, "Asia/Seoul",
      10349312, NULL),
    P(1838524, "Busan", "Pusan", 35.10168, 129.03004, 10, "PPLA", "KR", "Busan", 1838519,
      "Asia/Seoul", 3678555, NULL),
    P(1816670, "Beijing", "Peking", 39.9075, 116.39723, 63, "PPLC", "CN", "Beijing", 2038349,
      "Asia/Shanghai", 18960744, NULL),
    P(1796236, "Shanghai", NULL, 31.22222, 121.45806, 12, "PPLA", "CN", "Shanghai", 1796231,
      "Asia/Shanghai", 22315474, NULL),
    P(1809858, "Guangzhou", "Canton", 23.11667, 113.25, 21, "PPLA", "CN", "Guangdong", 1809935,
      "Asia/Shanghai", 16096724, NULL),
    P(1815286, "Chengdu", NULL, 30.66667, 104.06667, 500, "PPLA", "CN", "Sichuan", 1794299,
      "Asia/Shanghai", 13568357, NULL),
    P(1280737, "Lhasa", NULL, 29.65, 91.1, 3651, "PPLA", "CN", "Tibet", 1279685, "Asia/Shanghai",
      118721, NULL),
    P(1529102, "Ürümqi", "Urumqi", 43.80096, 87.60046, 850, "PPLA", "CN", "Xinjiang", 1529047,
      "Asia/Urumqi", 3029372, NULL),
    P(1819729, "Hong Kong", NULL, 22.27832, 114.17469, 10, "PPLC", "HK", "Hong Kong", 0,
      "Asia/Hong_Kong", 7012738, NULL),
    P(1668341, "Taipei", NULL, 25.04776, 121.53185, 10, "PPLC", "TW", "Taipei", 7280290,
      "Asia/Taipei", 7871900, NULL),
    P(2028462, "Ulaanbaatar", "Ulan Bator", 47.90771, 106.88324, 1350, "PPLC", "MN", "Ulaanbaatar",
      2028461, "Asia/Ulaanbaatar", 844818, NULL),
    /* South-East and South Asia */
    P(1701668, "Manila", NULL, 14.6042, 120.9822, 13, "PPLC", "PH", "Metro Manila", 7521311,
      "Asia/Manila", 1600000, NULL),
    P(1642911, "Jakarta", NULL, -6.21462, 106.84513, 8, "PPLC", "ID", "Jakarta", 1642907,
      "Asia/Jakarta", 8540121, NULL),
    P(1650357, "Denpasar", "Bali", -8.65, 115.21667, 20, "PPLA", "ID", "Bali", 1650535,
      "Asia/Makassar", 788589, NULL),
    P(1880252, "Singapore", NULL, 1.28967, 103.85007, 15, "PPLC", "SG", NULL, 0, "Asia/Singapore",
      3547809, NULL),
    P(1735161, "Kuala Lumpur", NULL, 3.1412, 101.68653, 56, "PPLC", "MY", "Kuala Lumpur", 1733046,
      "Asia/Kuala_Lumpur", 1453975, NULL),
    P(1609350, "Bangkok", "Krung Thep", 13.75398, 100.50144, 4, "PPLC", "TH", "Bangkok", 1609348,
      "Asia/Bangkok", 5104476, NULL),
    P(1581130, "Hanoi", "Hà Nội|Ha Noi", 21.0245, 105.84117, 14, "PPLC", "VN", "Hanoi", 1581129,
      "Asia/Bangkok", 1431270, NULL),
    P(1566083, "Ho Chi Minh City", "Saigon|Thành phố Hồ Chí Minh", 10.82302, 106.62965, 10, "PPLA",
      "VN", "Ho Chi Minh", 1580578, "Asia/Ho_Chi_Minh", 3467331, NULL),
    P(1275339, "Mumbai", "Bombay", 19.07283, 72.88261, 14, "PPLA", "IN", "Maharashtra", 1264418,
      "Asia/Kolkata", 12691836, NULL),
    P(1273294, "Delhi", NULL, 28.65195, 77.23149, 227, "PPLA", "IN", "Delhi", 1273293,
      "Asia/Kolkata", 10927986, NULL),
    P(1261481, "New Delhi", NULL, 28.63576, 77.22445, 216, "PPLC", "IN", "Delhi", 1273293,
      "Asia/Kolkata", 317797, NULL),
    P(1277333, "Bengaluru", "Bangalore", 12.97194, 77.59369, 920, "PPLA", "IN", "Karnataka",
      1267701, "Asia/Kolkata", 5104047, NULL),
    P(1275004, "Kolkata", "Calcutta", 22.56263, 88.36304, 11, "PPLA", "IN", "West Bengal", 1252881,
      "Asia/Kolkata", 4631392, NULL),
    P(1264527, "Chennai", "Madras", 13.08784, 80.27847, 6, "PPLA", "IN", "Tamil Nadu", 1255053,
      "Asia/Kolkata", 4328063, NULL),
    P(1174872, "Karachi", NULL, 24.8608, 67.0104, 8, "PPLA", "PK", "Sindh", 1164807, "Asia/Karachi",
      11624219, NULL),
    P(1176615, "Islamabad", NULL, 33.72148, 73.04329, 508, "PPLC", "PK", "Islamabad", 1162015,
      "Asia/Karachi", 601600, NULL),
    P(1185241, "Dhaka", NULL, 23.7104, 90.40744, 9, "PPLC", "BD", "Dhaka", 1337179, "Asia/Dhaka",
      10356500, NULL),
    P(1283240, "Kathmandu", NULL, 27.70169, 85.3206, 1317, "PPLC", "NP", "Bagmati", 0,
      "Asia/Kathmandu", 1442271, NULL),
    P(1248991, "Colombo", NULL, 6.93194, 79.84778, 7, "PPLC", "LK", "Western", 1223421,
      "Asia/Colombo", 648034, NULL),
    P(1282027, "Malé", "Male", 4.1748, 73.50888, 2, "PPLC", "MV", "Kaafu Atoll", 0,
      "Indian/Maldives", 103693, NULL),
    /* Middle East, Central Asia */
    P(112931, "Tehran", NULL, 35.69439, 51.42151, 1178, "PPLC", "IR", "Tehran", 110791,
      "Asia/Tehran", 7153309, NULL),
    P(292223, "Dubai", NULL, 25.07725, 55.30927, 5, "PPLA", "AE", "Dubai", 292224, "Asia/Dubai",
      3790000, NULL),
    P(290030, "Doha", NULL, 25.28545, 51.53096, 10, "PPLC", "QA", "Baladiyat ad Dawhah", 7576823,
      "Asia/Qatar", 344939, NULL),
    P(108410, "Riyadh", NULL, 24.68773, 46.72185, 612, "PPLC", "SA", "Riyadh Region", 108411,
      "Asia/Riyadh", 4205961, NULL),
    P(293397, "Tel Aviv", "Tel Aviv-Yafo", 32.08088, 34.78057, 15, "PPLA", "IL", "Tel Aviv", 293396,
      "Asia/Jerusalem", 432892, NULL),
    P(281184, "Jerusalem", NULL, 31.76904, 35.21633, 786, "PPLC", "IL", "Jerusalem", 293198,
      "Asia/Jerusalem", 801000, NULL),
    P(250441, "Amman", NULL, 31.95522, 35.94503, 779, "PPLC", "JO", "Amman", 250439, "Asia/Amman",
      1275857, NULL),
    P(1526384, "Almaty", NULL, 43.25, 76.91667, 848, "PPLA", "KZ", "Almaty", 1526395, "Asia/Almaty",
      2000900, NULL),
    P(1512569, "Tashkent", NULL, 41.26465, 69.21627, 455, "PPLC", "UZ", "Tashkent", 1484839,
      "Asia/Tashkent", 1978028, NULL),
    P(1138958, "Kabul", NULL, 34.52813, 69.17233, 1791, "PPLC", "AF", "Kabul", 1138957,
      "Asia/Kabul", 3043532, NULL),
    /* Africa */
    P(360630, "Cairo", NULL, 30.06263, 31.24967, 23, "PPLC", "EG", "Cairo", 360631, "Africa/Cairo",
      9606916, NULL),
    P(2553604, "Casablanca", NULL, 33.58831, -7.61138, 27, "PPLA", "MA", "Casablanca-Settat",
      11281876, "Africa/Casablanca", 3144909, NULL),
    P(2538475, "Rabat", NULL, 34.01325, -6.83255, 75, "PPLC", "MA", "Rabat-Salé-Kénitra", 11281879,
      "Africa/Casablanca", 1655753, NULL),
    P(2507480, "Algiers", "Alger", 36.73225, 3.08746, 6, "PPLC", "DZ", "Algiers", 2507475,
      "Africa/Algiers", 1977663, NULL),
    P(2464470, "Tunis", NULL, 36.81897, 10.16579, 4, "PPLC", "TN", "Tunis", 2464464, "Africa/Tunis",
      693210, NULL),
    P(2332459, "Lagos", NULL, 6.45407, 3.39467, 14, "PPLA2", "NG", "Lagos", 2332453, "Africa/Lagos",
      9000000, NULL),
    P(2306104, "Accra", NULL, 5.55602, -0.1969, 61, "PPLC", "GH", "Greater Accra", 2300569,
      "Africa/Accra", 1963264, NULL),
    P(2253354, "Dakar", NULL, 14.6937, -17.44406, 24, "PPLC", "SN", "Dakar", 2253350,
      "Africa/Dakar", 2476400, NULL),
    P(2279755, "Abidjan", NULL, 5.30966, -4.01266, 25, "PPLA", "CI", "Abidjan", 2293538,
      "Africa/Abidjan", 3677115, NULL),
    P(184745, "Nairobi", NULL, -1.28333, 36.81667, 1661, "PPLC", "KE", "Nairobi Area", 184742,
      "Africa/Nairobi", 2750547, NULL),
    P(344979, "Addis Ababa", "Addis Abeba", 9.02497, 38.74689, 2355, "PPLC", "ET", "Addis Ababa",
      344979, "Africa/Addis_Ababa", 2757729, NULL),
    P(160263, "Dar es Salaam", NULL, -6.82349, 39.26951, 55, "PPLA", "TZ", "Dar es Salaam", 160260,
      "Africa/Dar_es_Salaam", 2698652, NULL),
    P(2240449, "Luanda", NULL, -8.83682, 13.23432, 6, "PPLC", "AO", "Luanda", 2240444,
      "Africa/Luanda", 2776168, NULL),
    P(2314302, "Kinshasa", NULL, -4.32758, 15.31357, 240, "PPLC", "CD", "Kinshasa", 2314300,
      "Africa/Kinshasa", 7785965, NULL),
    P(993800, "Johannesburg", "Joburg", -26.20227, 28.04363, 1767, "PPLA2", "ZA", "Gauteng",
      1085594, "Africa/Johannesburg", 2026469, NULL),
    P(3369157, "Cape Town", "Kaapstad", -33.92584, 18.42322, 25, "PPLA", "ZA", "Western Cape",
      1085599, "Africa/Johannesburg", 3433441, "8001"),
    P(1070940, "Antananarivo", NULL, -18.91368, 47.53613, 1280, "PPLC", "MG", "Analamanga", 7670905,
      "Indian/Antananarivo", 1391433, NULL),
    P(934154, "Port Louis", NULL, -20.16194, 57.49889, 5, "PPLC", "MU", "Port Louis", 934153,
      "Indian/Mauritius", 155226, NULL),
    /* Oceania, Pacific, Antarctica */
    P(2147714, "Sydney", NULL, -33.86785, 151.20732, 58, "PPLA", "AU", "New South Wales", 2155400,
      "Australia/Sydney", 4627345, "2000"),
    P(2158177, "Melbourne", NULL, -37.814, 144.96332, 31, "PPLA", "AU", "Victoria", 2145234,
      "Australia/Melbourne", 4246375, "3000"),
    P(2174003, "Brisbane", NULL, -27.46794, 153.02809, 28, "PPLA", "AU", "Queensland", 2152274,
      "Australia/Brisbane", 2189878, NULL),
    P(2063523, "Perth", NULL, -31.95224, 115.8614, 37, "PPLA", "AU", "Western Australia", 2058645,
      "Australia/Perth", 1896548, NULL),
    P(2078025, "Adelaide", NULL, -34.92866, 138.59863, 48, "PPLA", "AU", "South Australia", 2061327,
      "Australia/Adelaide", 1225235, NULL),
    P(2073124, "Darwin", NULL, -12.46113, 130.84185, 34, "PPLA", "AU", "Northern Territory",
      2064513, "Australia/Darwin", 129062, NULL),
    P(2163355, "Hobart", NULL, -42.87936, 147.32941, 18, "PPLA", "AU", "Tasmania", 2147291,
      "Australia/Hobart", 216656, NULL),
    P(2077963, "Alice Springs", NULL, -23.69748, 133.88362, 579, "PPL", "AU", "Northern Territory",
      2064513, "Australia/Darwin", 32210, NULL),
    P(2193733, "Auckland", NULL, -36.84853, 174.76349, 26, "PPLA2", "NZ", "Auckland", 2193734,
      "Pacific/Auckland", 417910, NULL),
    P(2179537, "Wellington", NULL, -41.28664, 174.77557, 21, "PPLC", "NZ", "Wellington", 2179538,
      "Pacific/Auckland", 381900, NULL),
    P(2192362, "Christchurch", NULL, -43.53333, 172.63333, 8, "PPLA2", "NZ", "Canterbury", 2192628,
      "Pacific/Auckland", 363926, NULL),
    P(2198148, "Suva", NULL, -18.14161, 178.44149, 10, "PPLC", "FJ", "Central", 2205218,
      "Pacific/Fiji", 77366, NULL),
    P(4033936, "Papeete", NULL, -17.53733, -149.5665, 5, "PPLC", "PF", "Windward Islands", 4034365,
      "Pacific/Tahiti", 26357, NULL),
    P(4036284, "Apia", NULL, -13.83333, -171.76666, 2, "PPLC", "WS", "Tuamasaga", 4035413,
      "Pacific/Apia", 40407, NULL),
    P(4041552, "Hagåtña", "Hagatna|Agana", 13.47567, 144.74886, 10, "PPLC", "GU", "Hagatna",
      4043988, "Pacific/Guam", 1051, NULL),
    P(6696480, "McMurdo Station", "McMurdo", -77.846, 166.676, 24, "STNB", "AQ", NULL, 0,
      "Antarctica/McMurdo", 0, NULL),
};

#undef P

static const struct {
    const char *code, *name;
    long id;
} countries[] = {
    {"AE", "United Arab Emirates", 290557},
    {"AF", "Afghanistan", 1149361},
    {"AO", "Angola", 3351879},
    {"AQ", "Antarctica", 6697173},
    {"AR", "Argentina", 3865483},
    {"AT", "Austria", 2782113},
    {"AU", "Australia", 2077456},
    {"BD", "Bangladesh", 1210997},
    {"BE", "Belgium", 2802361},
    {"BG", "Bulgaria", 732800},
    {"BO", "Bolivia", 3923057},
    {"BR", "Brazil", 3469034},
    {"BY", "Belarus", 630336},
    {"CA", "Canada", 6251999},
    {"CD", "DR Congo", 203312},
    {"CH", "Switzerland", 2658434},
    {"CI", "Ivory Coast", 2287781},
    {"CL", "Chile", 3895114},
    {"CN", "China", 1814991},
    {"CO", "Colombia", 3686110},
    {"CR", "Costa Rica", 3624060},
    {"CU", "Cuba", 3562981},
    {"CY", "Cyprus", 146669},
    {"CZ", "Czechia", 3077311},
    {"DE", "Germany", 2921044},
    {"DK", "Denmark", 2623032},
    {"DZ", "Algeria", 2589581},
    {"EC", "Ecuador", 3658394},
    {"EE", "Estonia", 453733},
    {"EG", "Egypt", 357994},
    {"ES", "Spain", 2510769},
    {"ET", "Ethiopia", 337996},
    {"FI", "Finland", 660013},
    {"FJ", "Fiji", 2205218},
    {"FK", "Falkland Islands", 3474414},
    {"FO", "Faroe Islands", 2622320},
    {"FR", "France", 3017382},
    {"GB", "United Kingdom", 2635167},
    {"GH", "Ghana", 2300660},
    {"GL", "Greenland", 3425505},
    {"GR", "Greece", 390903},
    {"GU", "Guam", 4043988},
    {"HK", "Hong Kong", 1819730},
    {"HR", "Croatia", 3202326},
    {"HU", "Hungary", 719819},
    {"ID", "Indonesia", 1643084},
    {"IE", "Ireland", 2963597},
    {"IL", "Israel", 294640},
    {"IN", "India", 1269750},
    {"IR", "Iran", 130758},
    {"IS", "Iceland", 2629691},
    {"IT", "Italy", 3175395},
    {"JM", "Jamaica", 3489940},
    {"JO", "Jordan", 248816},
    {"JP", "Japan", 1861060},
    {"KE", "Kenya", 192950},
    {"KR", "South Korea", 1835841},
    {"KZ", "Kazakhstan", 1522867},
    {"LK", "Sri Lanka", 1227603},
    {"LT", "Lithuania", 597427},
    {"LU", "Luxembourg", 2960313},
    {"LV", "Latvia", 458258},
    {"MA", "Morocco", 2542007},
    {"MG", "Madagascar", 1062947},
    {"MN", "Mongolia", 2029969},
    {"MT", "Malta", 2562770},
    {"MU", "Mauritius", 934292},
    {"MV", "Maldives", 1282028},
    {"MX", "Mexico", 3996063},
    {"MY", "Malaysia", 1733045},
    {"NG", "Nigeria", 2328926},
    {"NL", "The Netherlands", 2750405},
    {"NO", "Norway", 3144096},
    {"NP", "Nepal", 1282988},
    {"NZ", "New Zealand", 2186224},
    {"PA", "Panama", 3703430},
    {"PE", "Peru", 3932488},
    {"PF", "French Polynesia", 4030656},
    {"PH", "Philippines", 1694008},
    {"PK", "Pakistan", 1168579},
    {"PL", "Poland", 798544},
    {"PT", "Portugal", 2264397},
    {"QA", "Qatar", 289688},
    {"RO", "Romania", 798549},
    {"RS", "Serbia", 6290252},
    {"RU", "Russia", 2017370},
    {"SA", "Saudi Arabia", 102358},
    {"SE", "Sweden", 2661886},
    {"SG", "Singapore", 1880251},
    {"SI", "Slovenia", 3190538},
    {"SJ", "Svalbard and Jan Mayen", 607072},
    {"SK", "Slovakia", 3057568},
    {"SN", "Senegal", 2245662},
    {"TH", "Thailand", 1605651},
    {"TN", "Tunisia", 2464461},
    {"TR", "Turkey", 298795},
    {"TW", "Taiwan", 1668284},
    {"TZ", "Tanzania", 149590},
    {"UA", "Ukraine", 690791},
    {"US", "United States", 6252001},
    {"UY", "Uruguay", 3439705},
    {"UZ", "Uzbekistan", 1512440},
    {"VE", "Venezuela", 3625428},
    {"VN", "Vietnam", 1562822},
    {"WS", "Samoa", 4034894},
    {"ZA", "South Africa", 953987},
};

size_t ws_gaz_count(void)
{
    return sizeof(places) / sizeof(places[0]);
}

const ws_place *ws_gaz_at(size_t i)
{
    return i < ws_gaz_count() ? &places[i] : NULL;
}

const char *ws_gaz_country_name(const char *code)
{
    for (size_t i = 0; code && i < sizeof(countries) / sizeof(countries[0]); i++)
        if (strcasecmp(countries[i].code, code) == 0) return countries[i].name;
    return NULL;
}

long ws_gaz_country_id(const char *code)
{
    for (size_t i = 0; code && i < sizeof(countries) / sizeof(countries[0]); i++)
        if (strcasecmp(countries[i].code, code) == 0) return countries[i].id;
    return 0;
}

/* ------------------------------------------------------------------ folding */

/* ASCII replacement for a Latin code point, or NULL if it has none. */
static const char *fold_cp(uint32_t cp)
{
    /* U+00C0..U+00FF */
    static const char *latin1[64] = {
        "a", "a", "a", "a", "a", "a", "ae", "c",  "e", "e", "e", "e", "i", "i", "i",  "i",
        "d", "n", "o", "o", "o", "o", "o",  NULL, "o", "u", "u", "u", "u", "y", "th", "ss",
        "a", "a", "a", "a", "a", "a", "ae", "c",  "e", "e", "e", "e", "i", "i", "i",  "i",
        "d", "n", "o", "o", "o", "o", "o",  NULL, "o", "u", "u", "u", "u", "y", "th", "y",
    };
    /* U+0100..U+017F: the base letter of each code point ('?' = special). */
    static const char ext_a[] = "aaaaaaccccccccdd"
                                "ddeeeeeeeeeegggg"
                                "gggghhhhiiiiiiii"
                                "ii??jjkkklllllll"
                                "lllnnnnnnnnnoooo"
                                "oo??rrrrrrssssss"
                                "ssttttttuuuuuuuu"
                                "uuuuwwyyyzzzzzzs";
    static const char *letters[26] = {"a", "b", "c", "d", "e", "f", "g", "h", "i",
                                      "j", "k", "l", "m", "n", "o", "p", "q", "r",
                                      "s", "t", "u", "v", "w", "x", "y", "z"};
    if (cp >= 0xC0 && cp <= 0xFF) return latin1[cp - 0xC0];
    if (cp >= 0x100 && cp <= 0x17F) {
        char c = ext_a[cp - 0x100];
        if (cp == 0x132 || cp == 0x133) return "ij";
        if (cp == 0x152 || cp == 0x153) return "oe";
        return c >= 'a' && c <= 'z' ? letters[c - 'a'] : NULL;
    }
    switch (cp) {
    case 0x1E0D:
    case 0x1E0C:
        return "d";
    case 0x1EA1:
    case 0x1EA0:
    case 0x1EA3:
    case 0x1EA5:
    case 0x1EA7:
    case 0x1EAD:
        return "a";
    case 0x1EBF:
    case 0x1EC1:
    case 0x1EC7:
    case 0x1EB9:
        return "e";
    case 0x1ECB:
    case 0x1EC9:
        return "i";
    case 0x1ED1:
    case 0x1ED3:
    case 0x1ED9:
    case 0x1ECD:
    case 0x1EDB:
    case 0x1EDD:
        return "o";
    case 0x1EE5:
    case 0x1EE7:
    case 0x1EE9:
    case 0x1EEB:
        return "u";
    case 0x1EF3:
    case 0x1EF5:
    case 0x1EF7:
    case 0x1EF9:
        return "y";
    case 0x1E63:
    case 0x1E62:
        return "s";
    case 0x1E6D:
    case 0x1E6C:
        return "t";
    case 0x0219:
    case 0x0218:
        return "s";
    case 0x021B:
    case 0x021A:
        return "t";
    case 0x01B0:
    case 0x01AF:
        return "u";
    case 0x01A1:
    case 0x01A0:
        return "o";
    default:
        return NULL;
    }
}

/* Decodes one UTF-8 sequence at s; returns its length (1 for invalid bytes). */
static size_t utf8_decode(const unsigned char *s, uint32_t *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if ((s[0] & 0xE0) == 0xC0 && (s[1] & 0xC0) == 0x80) {
        *cp = ((uint32_t)(s[0] & 0x1F) << 6) | (s[1] & 0x3F);
        return 2;
    }
    if ((s[0] & 0xF0) == 0xE0 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80) {
        *cp = ((uint32_t)(s[0] & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
        return 3;
    }
    if ((s[0] & 0xF8) == 0xF0 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80 &&
        (s[3] & 0xC0) == 0x80) {
        *cp = ((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) |
              ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
        return 4;
    }
    *cp = 0xFFFD;
    return 1;
}

size_t ws_gaz_fold(const char *in, char *out, size_t outlen)
{
    const unsigned char *s = (const unsigned char *)(in ? in : "");
    size_t n = 0;
    bool pending_space = false;

    if (outlen == 0) return 0;
    while (*s) {
        uint32_t cp;
        size_t len = utf8_decode(s, &cp);
        const char *rep = NULL;
        char ascii[2] = {0, 0};

        if (cp == 0x130) /* İ */
            rep = "i";
        else if (cp == 0x131) /* ı */
            rep = "i";
        else if (cp < 0x80) {
            ascii[0] = (char)tolower((int)cp);
            rep = ascii;
        } else {
            rep = fold_cp(cp);
        }
        if (cp < 0x80 && isspace((int)cp)) {
            pending_space = n > 0;
            s += len;
            continue;
        }
        if (pending_space && n + 1 < outlen) out[n++] = ' ';
        pending_space = false;
        if (rep) {
            for (const char *r = rep; *r && n + 1 < outlen; r++)
                out[n++] = *r;
        } else {
            for (size_t k = 0; k < len && s[k] && n + 1 < outlen; k++)
                out[n++] = (char)s[k];
        }
        s += len;
    }
    out[n] = '\0';
    return n;
}

/* Number of code points in a UTF-8 string. */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xC0) != 0x80) n++;
    return n;
}

/* ------------------------------------------------------------------ search */

enum { FOLD_MAX = 256 };

enum { FUZZY_MAX = 64 };

/* Optimal-string-alignment distance (edits plus adjacent swaps, so "Berlni"
 * is one edit from "berlin"); SIZE_MAX for strings too long to compare. */
static size_t edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
    size_t d[FUZZY_MAX + 1][FUZZY_MAX + 1];
    if (la > FUZZY_MAX || lb > FUZZY_MAX) return SIZE_MAX;
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t best = d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
            if (d[i - 1][j] + 1 < best) best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[la][lb];
}

/* Match score of query q against one folded candidate name c: 0 exact,
 * 1 prefix, 2 word prefix, 3 fuzzy (small edit distance); -1 no match. */
static int score_name(const char *q, size_t lq, const char *c, bool exact_only)
{
    size_t lc = strlen(c);
    if (lq == lc && memcmp(q, c, lq) == 0) return 0;
    if (exact_only) return -1;
    if (lq < lc && memcmp(q, c, lq) == 0) return 1;
    for (const char *w = strchr(c, ' '); w; w = strchr(w + 1, ' '))
        if (strncmp(w + 1, q, lq) == 0) return 2;
    if (lq >= 4) {
        size_t tol = lq >= 8 ? 2 : 1;
        if (edit_distance(q, lq, c, lc) <= tol) return 3;
        if (lc > lq && edit_distance(q, lq, c, lq) <= tol) /* typo in a prefix */
            return 3;
    }
    return -1;
}

/* Best score of a place for q over its name, aliases and postcodes. */
static int score_place(const ws_place *p, const char *q, size_t lq, bool exact_only)
{
    char folded[FOLD_MAX];
    int best = -1;

    ws_gaz_fold(p->name, folded, sizeof(folded));
    best = score_name(q, lq, folded, exact_only);
    if (p->aliases) {
        const char *a = p->aliases;
        while (*a && best != 0) {
            const char *bar = strchr(a, '|');
            size_t len = bar ? (size_t)(bar - a) : strlen(a);
            char one[FOLD_MAX];
            if (len >= sizeof(one)) len = sizeof(one) - 1;
            memcpy(one, a, len);
            one[len] = '\0';
            ws_gaz_fold(one, folded, sizeof(folded));
            int s = score_name(q, lq, folded, exact_only);
            if (s >= 0 && (best < 0 || s < best)) best = s;
            a += len + (bar ? 1 : 0);
        }
    }
    if (best != 0 && p->postcodes) {
        const char *a = p->postcodes;
        while (*a) {
            const char *bar = strchr(a, '|');
            size_t len = bar ? (size_t)(bar - a) : strlen(a);
            if (len == lq && strncasecmp(a, q, lq) == 0) return 0;
            a += len + (bar ? 1 : 0);
        }
    }
    return best;
}

/* True when the folded filter text names the place's admin1, country or code. */
static bool filter_matches(const ws_place *p, const char *filter)
{
    char folded[FOLD_MAX];
    const char *country = ws_gaz_country_name(p->country_code);

    if (!filter[0]) return true;
    if (strcasecmp(filter, p->country_code) == 0) return true;
    if (p->admin1) {
        ws_gaz_fold(p->admin1, folded, sizeof(folded));
        if (strstr(folded, filter)) return true;
    }
    if (country) {
        ws_gaz_fold(country, folded, sizeof(folded));
        if (strstr(folded, filter)) return true;
    }
    return false;
}

typedef struct hit {
    const ws_place *p;
    int score;
} hit;

static int hit_cmp(const void *a, const void *b)
{
    const hit *x = a, *y = b;
    if (x->score != y->score) return x->score - y->score;
    if (x->p->population != y->p->population) return x->p->population > y->p->population ? -1 : 1;
    return x->p->id < y->p->id ? -1 : (x->p->id > y->p->id);
}

size_t ws_gaz_search(const char *query, const char *country_code, const ws_place **out, size_t max)
{
    char name[FOLD_MAX], filter[FOLD_MAX] = "";
    const char *comma = query ? strchr(query, ',') : NULL;
    hit hits[sizeof(places) / sizeof(places[0])];
    size_t nhits = 0, lq;

    if (!query || max == 0) return 0;
    if (comma) {
        char head[FOLD_MAX];
        size_t len = (size_t)(comma - query);
        if (len >= sizeof(head)) len = sizeof(head) - 1;
        memcpy(head, query, len);
        head[len] = '\0';
        ws_gaz_fold(head, name, sizeof(name));
        ws_gaz_fold(comma + 1, filter, sizeof(filter));
    } else {
        ws_gaz_fold(query, name, sizeof(name));
    }
    lq = strlen(name);
    if (utf8_chars(name) < 2) return 0;
    bool exact_only = utf8_chars(name) == 2;

    for (size_t i = 0; i < ws_gaz_count(); i++) {
        const ws_place *p = &places[i];
        if (country_code && country_code[0] && strcasecmp(country_code, p->country_code) != 0)
            continue;
        int s = score_place(p, name, lq, exact_only);
        if (s < 0 || !filter_matches(p, filter)) continue;
        hits[nhits].p = p;
        hits[nhits].score = s;
        nhits++;
    }
    qsort(hits, nhits, sizeof(hits[0]), hit_cmp);
    if (nhits > max) nhits = max;
    for (size_t i = 0; i < nhits; i++)
        out[i] = hits[i].p;
    return nhits;
}

/* ------------------------------------------------------------------ geometry */

double ws_gaz_distance_km(double lat1, double lon1, double lat2, double lon2)
{
    const double r = 6371.0, rad = M_PI / 180.0;
    double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
    double a = sin(dlat / 2) * sin(dlat / 2) +
               cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);
    if (a > 1.0) a = 1.0;
    return 2 * r * asin(sqrt(a));
}

const ws_place *ws_gaz_nearest(double lat, double lon, double *dist_km)
{
    const ws_place *best = &places[0];
    double bestd = ws_gaz_distance_km(lat, lon, best->latitude, best->longitude);
    for (size_t i = 1; i < ws_gaz_count(); i++) {
        double d = ws_gaz_distance_km(lat, lon, places[i].latitude, places[i].longitude);
        if (d < bestd) {
            bestd = d;
            best = &places[i];
        }
    }
    if (dist_km) *dist_km = bestd;
    return best;
}

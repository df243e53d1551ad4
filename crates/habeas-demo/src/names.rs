//! Synthetic names in the style of the region, and a small deterministic generator.

/// SplitMix64: small, fast, and the same sequence for the same seed on every platform.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x9e37_79b9_7f4a_7c15)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[self.below(list.len() as u64) as usize]
    }
}

const SV_GIVEN: &[&str] = &[
    "José",
    "Juan",
    "Carlos",
    "Luis",
    "Jorge",
    "Mario",
    "Miguel",
    "Francisco",
    "Óscar",
    "Roberto",
    "Kevin",
    "Brayan",
    "Jonathan",
    "Édgar",
    "Wilfredo",
    "Nelson",
    "René",
    "Walter",
    "Douglas",
    "Santos",
    "Marvin",
    "William",
    "Alexander",
    "Fredy",
    "Josué",
    "Erick",
    "Rafael",
    "Mauricio",
    "Ricardo",
    "Julio",
    "Ángel",
    "Cristian",
    "Henry",
    "Moisés",
];
const SV_SURNAMES: &[&str] = &[
    "Hernández",
    "López",
    "Martínez",
    "García",
    "Rodríguez",
    "Pérez",
    "Ramírez",
    "Flores",
    "Rivera",
    "Cruz",
    "Aguilar",
    "Mejía",
    "Romero",
    "Portillo",
    "Ayala",
    "Molina",
    "Guevara",
    "Chávez",
    "Orellana",
    "Alvarado",
    "Cortez",
    "Menjívar",
    "Quintanilla",
    "Rosales",
    "Zelaya",
    "Argueta",
    "Henríquez",
    "Escobar",
    "Villalta",
    "Sorto",
];
const VE_GIVEN: &[&str] = &[
    "José",
    "Luis",
    "Andrés",
    "Jesús",
    "Daniel",
    "Carlos",
    "Jhonny",
    "Yonaiker",
    "Wilmer",
    "Franklin",
    "Anderson",
    "Eduardo",
    "Alejandro",
    "Reinaldo",
    "Gustavo",
    "Johan",
    "Leonardo",
    "Víctor",
];
const VE_SURNAMES: &[&str] = &[
    "González",
    "Rodríguez",
    "Pérez",
    "Hernández",
    "García",
    "Díaz",
    "Moreno",
    "Rojas",
    "Torres",
    "Mendoza",
    "Silva",
    "Castillo",
    "Contreras",
    "Ramos",
    "Medina",
    "Vargas",
    "Bracho",
    "Urdaneta",
];
const PLACES: &[&str] = &[
    "Soyapango",
    "San Salvador",
    "Apopa",
    "Ilopango",
    "Mejicanos",
    "San Miguel",
    "Santa Ana",
    "Usulután",
    "Ahuachapán",
    "Cuscatancingo",
    "Ciudad Delgado",
    "Zacatecoluca",
    "Sonsonate",
    "La Libertad",
];

fn person(rng: &mut Rng, given: &[&str], surnames: &[&str]) -> (String, Vec<String>) {
    let first = rng.pick(given);
    let name = if rng.below(3) == 0 {
        format!("{first} {}", rng.pick(given))
    } else {
        first.to_owned()
    };
    (
        name,
        vec![rng.pick(surnames).to_owned(), rng.pick(surnames).to_owned()],
    )
}

pub fn salvadoran(rng: &mut Rng) -> (String, Vec<String>) {
    person(rng, SV_GIVEN, SV_SURNAMES)
}

pub fn venezuelan(rng: &mut Rng) -> (String, Vec<String>) {
    person(rng, VE_GIVEN, VE_SURNAMES)
}

pub fn place(rng: &mut Rng) -> &'static str {
    rng.pick(PLACES)
}

//! Fuzz targets for every parser of untrusted input, each run for
//! `VEILLE_FUZZ_SECONDS` (see `veille_fuzz`): form decoding and validation,
//! the Open311 body, data·inclusion files, GeoJSON territories, photos and
//! the record-linkage CSV. A crash (panic) fails the test.

use veille_fuzz::fuzz;

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn now() -> veille_domain::Timestamp {
    veille_domain::Timestamp::from_micros(1_795_000_000_000_000)
}

/// Every form of the pages, decoded as the `Form` extractor does, then
/// checked by the one validation of each (signalement, person, encounter).
#[test]
fn forms() {
    use veille_app::people::input::{validate_encounter, validate_person, EncounterForm, PersonContext, PersonForm};
    use veille_app::reports::intake::{validate, IntakeInput, Mode};
    let seeds = [
        "csrf=x&lat=48.89&lon=2.35&situation=camp&situation=minors&flag=municipal_land&tents=2&adults=3&children=&description=Deux+tentes&address=Quai",
        "pseudonym=Fantine&aliases=La+Blonde&birth_year=1975&gender=woman&age=50&phone=0611223344&nationality=eu&needs=food&needs=health_care&languages=fr",
        "people=01a23141-339f-73ec-9778-f6cbf7b65941&actions=care&actions=listening&at=2026-12-03T10%3A00&lat=48.8&lon=2.3&unidentified=2&follow_up=1&notes=R%C3%A9chauff%C3%A9",
        "situation[]=camp&tents=%FF&adults=-1&lat=NaN&lon=1e400&description=%00%00",
    ]
    .map(|s| s.as_bytes().to_vec());
    let dictionary: &[&[u8]] =
        &[b"&", b"=", b"%00", b"%FF", b"%C3%A9", b"+", b"[]", b"situation=", b"lat=", b"lon=", b"age=", b"birth_year=", b"at=", b"people="];
    let territories = [];
    fuzz("forms", &seeds, dictionary, |bytes| {
        if let Ok(input) = veille_web::forms::decode::<IntakeInput>(bytes) {
            let _ = validate(veille_app::Lang::Fr, &input, Mode::Public);
            let _ = validate(veille_app::Lang::En, &input, Mode::Staff);
        }
        if let Ok(form) = veille_web::forms::decode::<PersonForm>(bytes) {
            let cx = PersonContext { now: now(), territories: &territories, consent_allows_identifying: true };
            let _ = validate_person(veille_app::Lang::Fr, &form, &cx);
        }
        if let Ok(form) = veille_web::forms::decode::<EncounterForm>(bytes) {
            let _ = validate_encounter(veille_app::Lang::Fr, &form, now(), false);
        }
    });
}

/// The body of `POST /open311/v2/requests.json`: form pairs, the request's
/// attributes, then the report's validation.
#[test]
fn open311_body() {
    use veille_app::reports::intake::{validate, Mode};
    let seeds = [
        "api_key=k&service_code=veille_sociale&lat=48.89&long=2.35&attribute%5Bsituation%5D%5B%5D=camp&attribute%5Bflag%5D%5B%5D=municipal_land&attribute%5Badults%5D=2&description=Une+tente",
        "service_code=veille_sociale&address_string=Quai+de+Jemmapes&attribute[seen][]=minors&attribute[seen][]=municipal_land&attribute[tents]=3&jurisdiction_id=veille",
    ]
    .map(|s| s.as_bytes().to_vec());
    let dictionary: &[&[u8]] = &[b"&", b"=", b"attribute[situation][]=", b"attribute[seen]=", b"attribute[flag][]=", b"%00", b"lat=", b"long=", b"%5B", b"%5D"];
    fuzz("open311", &seeds, dictionary, |bytes| {
        let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(bytes) else { return };
        let pairs = veille_web::forms::pairs_without_nul(pairs);
        if let Some(input) = veille_web::reports::open311::request_input(&pairs) {
            let _ = validate(veille_app::Lang::En, &input, Mode::Open311);
        }
    });
}

/// data·inclusion files (JSON and CSV), as the import reads them.
#[test]
fn data_inclusion() {
    use veille_app::directory::datainclusion::{read, Content};
    let dir = "../app/tests/fixtures/data-inclusion/";
    let seeds: Vec<Vec<u8>> =
        ["structures.json", "services.json", "services-extra.csv", "malformed.json", "agreement.json"].iter().map(|f| fixture(&format!("{dir}{f}"))).collect();
    let dictionary: &[&[u8]] =
        &[b"{", b"}", b"[", b"]", b"\"", b":", b",", b"null", b"\"id\":", b"\"date_maj\":", b"\"latitude\":", b"1e308", b"-0", b"\"\\u0000\""];
    let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
    fuzz("data_inclusion", &seeds, dictionary, |bytes| {
        read("structures.json", bytes, today, &mut Content::default());
        read("services.csv", bytes, today, &mut Content::default());
    });
}

/// GeoJSON territories: parsed, their geometry written back and read again,
/// an index built and asked for a point.
#[test]
fn geojson() {
    let seeds = [
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"75118","nom":"Paris 18e"},"geometry":{"type":"Polygon","coordinates":[[[2.0,48.0],[2.1,48.0],[2.1,48.1],[2.0,48.1],[2.0,48.0]]]}}]}"#,
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"1","nom":" A  b "},"geometry":{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]],[[[2,2],[3,2],[3,3],[2,2]]]]}},{"type":"Feature","properties":{"code":2,"nom":null},"geometry":null}]}"#,
    ]
    .map(|s| s.as_bytes().to_vec());
    let dictionary: &[&[u8]] =
        &[b"[", b"]", b"{", b"}", b",", b"1e308", b"-180", b"NaN", b"\"Polygon\"", b"\"MultiPolygon\"", b"\"GeometryCollection\"", b"[0,0]"];
    fuzz("geojson", &seeds, dictionary, |bytes| {
        let text = String::from_utf8_lossy(bytes);
        let Ok(features) = veille_geo::parse_territories(&text, "code", "nom") else { return };
        let mut items = Vec::new();
        for (i, f) in features.into_iter().enumerate() {
            let _ = veille_geo::bbox(&f.geometry);
            let written = veille_geo::geometry_to_geojson(&f.geometry);
            if let Ok(g) = veille_geo::geometry_from_geojson(&written) {
                items.push((i, g));
            }
        }
        let index = veille_geo::TerritoryIndex::new(items);
        if let Ok(p) = veille_geo::LonLat::new(2.05, 48.05) {
            let _ = index.locate(p);
        }
    });
}

/// Photos: JPEG, PNG and WebP, decoded with the limits, oriented, shrunk and
/// re-encoded (the bomb's header among the seeds).
#[test]
fn photos() {
    let encode = |format: image::ImageFormat| {
        let img = image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(24, 16, |x, y| image::Rgb([x as u8 * 9, y as u8 * 13, 90])));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, format).unwrap();
        out.into_inner()
    };
    let mut bomb = encode(image::ImageFormat::Png);
    bomb[16..20].copy_from_slice(&11_999u32.to_be_bytes());
    bomb[20..24].copy_from_slice(&11_999u32.to_be_bytes());
    let seeds = vec![encode(image::ImageFormat::Jpeg), encode(image::ImageFormat::Png), encode(image::ImageFormat::WebP), bomb];
    let dictionary: &[&[u8]] = &[b"IHDR", b"IDAT", b"IEND", b"\xff\xd8\xff\xe1", b"Exif\0\0", b"RIFF", b"VP8L", b"\xff\xff\xff\x7f"];
    fuzz("photos", &seeds, dictionary, |bytes| {
        let _ = veille_app::reports::photos::accept(bytes);
    });
}

/// The record-linkage CSV (`veille-linkage` and the people import), read with
/// the example configuration.
#[test]
fn linkage_csv() {
    let config_text = String::from_utf8(fixture("../linkage/examples/people.toml")).unwrap();
    let config = veille_linkage::config::Config::from_toml_str(&config_text).unwrap();
    let compiled = veille_linkage::engine::Compiled::new(&config, None).unwrap();
    let example = String::from_utf8(fixture("../linkage/examples/people.csv")).unwrap();
    let head: Vec<&str> = example.lines().take(30).collect();
    let seeds = vec![head.join("\n").into_bytes(), head[..3].join("\r\n").into_bytes()];
    let dictionary: &[&[u8]] = &[b",", b"\"", b"\n", b"\r\n", b"\"\"", b"1972", b"17/02/1972", b"2020-01-05", b"-1", b"999999999999"];
    let dir = std::env::temp_dir().join(format!("veille-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("people.csv");
    let progress = indicatif::ProgressBar::hidden();
    fuzz("linkage_csv", &seeds, dictionary, |bytes| {
        std::fs::write(&file, bytes).unwrap();
        let _ = veille_linkage::io::read_csv(&compiled, &file, &progress);
        for field in String::from_utf8_lossy(bytes).split([',', '\n']) {
            let _ = veille_linkage::engine::parse_date(field);
            let _ = veille_linkage::engine::parse_year(field);
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
}

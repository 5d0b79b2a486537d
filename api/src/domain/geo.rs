//! Great-circle distances and the bounding box that pre-filters a radius search in SQL.

const EARTH_RADIUS_KM: f64 = 6371.0088;

/// Haversine distance in kilometres.
pub fn distance_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * a.sqrt().asin()
}

/// A latitude/longitude box that contains every point within `radius_km` of the centre.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoundingBox {
    pub min_lat: f64,
    pub max_lat: f64,
    /// `None` when the box spans every longitude (near a pole or the antimeridian).
    pub lon_range: Option<(f64, f64)>,
}

pub fn bounding_box(lat: f64, lon: f64, radius_km: f64) -> BoundingBox {
    let dlat = (radius_km / EARTH_RADIUS_KM).to_degrees();
    let min_lat = (lat - dlat).max(-90.0);
    let max_lat = (lat + dlat).min(90.0);
    let widest = lat.abs() + dlat;
    let lon_range = if widest >= 89.0 {
        None
    } else {
        let dlon = (radius_km / (EARTH_RADIUS_KM * widest.to_radians().cos())).to_degrees();
        let (lo, hi) = (lon - dlon, lon + dlon);
        (lo >= -180.0 && hi <= 180.0).then_some((lo, hi))
    };
    BoundingBox { min_lat, max_lat, lon_range }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_distances() {
        // Toronto to Ottawa is about 352 km.
        let d = distance_km(43.6532, -79.3832, 45.4215, -75.6972);
        assert!((d - 352.0).abs() < 5.0, "{d}");
        assert!(distance_km(10.0, 10.0, 10.0, 10.0).abs() < 1e-9);
    }

    #[test]
    fn box_contains_points_on_the_circle() {
        let (lat, lon, r) = (43.65, -79.38, 25.0);
        let b = bounding_box(lat, lon, r);
        for bearing in 0..36 {
            let t = (bearing as f64 * 10.0).to_radians();
            // A point roughly r km away in direction t.
            let plat = lat + (r * 0.999 / 111.2) * t.cos();
            let plon = lon + (r * 0.999 / (111.2 * lat.to_radians().cos())) * t.sin();
            if distance_km(lat, lon, plat, plon) <= r {
                assert!(plat >= b.min_lat && plat <= b.max_lat);
                let (lo, hi) = b.lon_range.unwrap_or((-180.0, 180.0));
                assert!(plon >= lo && plon <= hi);
            }
        }
    }

    #[test]
    fn box_near_the_pole_or_antimeridian_spans_all_longitudes() {
        assert_eq!(bounding_box(89.5, 0.0, 100.0).lon_range, None);
        assert_eq!(bounding_box(0.0, 179.9, 100.0).lon_range, None);
    }
}

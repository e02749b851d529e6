//! Reading cookies from a request: one reader for the connect flow's browser nonce and the
//! dashboard's sign-in.

use axum::http::header::COOKIE;
use axum::http::HeaderMap;

/// Every value sent for cookie `name`, in the order sent (a neighbouring site may have planted
/// one of the same name before ours).
pub fn cookie_values<'a>(headers: &'a HeaderMap, name: &'a str) -> impl Iterator<Item = &'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(move |(key, _)| *key == name)
        .map(|(_, value)| value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn every_value_of_the_name_is_read_from_every_header() {
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, HeaderValue::from_static("a=1; b=2;c=3"));
        headers.append(COOKIE, HeaderValue::from_static("b=4"));
        assert_eq!(cookie_values(&headers, "b").collect::<Vec<_>>(), ["2", "4"]);
        assert_eq!(cookie_values(&headers, "c").collect::<Vec<_>>(), ["3"]);
        assert_eq!(cookie_values(&headers, "d").count(), 0);
    }
}

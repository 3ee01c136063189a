/**
 * Where a client is, from the request's `cf` object (Cloudflare's IP geolocation: country, continent,
 * latitude/longitude), and great-circle distances to TURN nodes that declared a location.
 */
import type { GeoPoint } from "../registry/snapshot.ts";

/** What the edge knows about a client's location; every part may be missing (e.g. in local development). */
export interface ClientLocation {
  /** ISO 3166-1 alpha-2 code, upper case. */
  country?: string;
  /** Cloudflare continent code: AF, AN, AS, EU, NA, OC, SA. */
  continent?: string;
  point?: GeoPoint;
}

/** Mean Earth radius (IUGG), km. */
const EARTH_RADIUS_KM = 6371.0088;

/**
 * Rough centroids of Cloudflare's continent codes, used only when the request has a continent but no
 * coordinates: good enough to prefer a node on the same continent.
 */
const CONTINENT_CENTROIDS: Record<string, GeoPoint> = {
  AF: { lat: 2, lon: 21 },
  AN: { lat: -80, lon: 0 },
  AS: { lat: 34, lon: 100 },
  EU: { lat: 50, lon: 10 },
  NA: { lat: 40, lon: -100 },
  OC: { lat: -25, lon: 135 },
  SA: { lat: -15, lon: -60 },
};

/** Great-circle distance between two points in km (haversine formula). */
export function greatCircleKm(a: GeoPoint, b: GeoPoint): number {
  const toRadians = Math.PI / 180;
  const dLat = (b.lat - a.lat) * toRadians;
  const dLon = (b.lon - a.lon) * toRadians;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * toRadians) * Math.cos(b.lat * toRadians) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** The subset of `request.cf` this module reads (IncomingRequestCfProperties; latitude/longitude are strings). */
export interface CfLocationFields {
  country?: string | null;
  continent?: string | null;
  latitude?: string | null;
  longitude?: string | null;
}

/** Reads a client's location from `request.cf`; falls back to the continent's centroid for the point. */
export function clientLocationFromCf(cf: CfLocationFields | undefined): ClientLocation {
  if (!cf) return {};
  const location: ClientLocation = {};
  if (typeof cf.country === "string" && /^[A-Za-z]{2}$/.test(cf.country)) location.country = cf.country.toUpperCase();
  if (typeof cf.continent === "string" && /^[A-Za-z]{2}$/.test(cf.continent)) location.continent = cf.continent.toUpperCase();
  const lat = Number.parseFloat(cf.latitude ?? "");
  const lon = Number.parseFloat(cf.longitude ?? "");
  if (Number.isFinite(lat) && Number.isFinite(lon) && Math.abs(lat) <= 90 && Math.abs(lon) <= 180) {
    location.point = { lat, lon };
  } else if (location.continent !== undefined) {
    const centroid = CONTINENT_CENTROIDS[location.continent];
    if (centroid) location.point = centroid;
  }
  return location;
}

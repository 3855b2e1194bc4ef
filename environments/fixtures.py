"""Write small FITS files into a bucket named like the public archive's. Runs in the built venv.

Usage: python fixtures.py BUCKET. Prints the keys it wrote. Needs astropy, numpy and boto3 (every
environment has them; the smoke notebooks read these files back).
"""

import io
import sys

import boto3
import numpy as np
from astropy.io import fits
from astropy.table import Table

HST_KEY = "hst/public/j8pu/j8pu0y010/j8pu0y010_drz.fits"
TESS_KEY = "tess/public/tid/s0001/0000/0000/2515/5310/tess2018206045859-s0001-0000000025155310-0120-s_lc.fits"


def hst_image() -> bytes:
    """A 64x64 drizzled-like image: flat sky plus three Gaussian stars."""
    y, x = np.mgrid[0:64, 0:64]
    data = np.full((64, 64), 10.0)
    for cx, cy, flux in ((16, 20, 500.0), (40, 44, 800.0), (50, 12, 300.0)):
        data += flux * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * 1.5**2))
    primary = fits.PrimaryHDU()
    primary.header["TELESCOP"] = "HST"
    primary.header["INSTRUME"] = "ACS"
    science = fits.ImageHDU(data.astype("float32"), name="SCI")
    buffer = io.BytesIO()
    fits.HDUList([primary, science]).writeto(buffer)
    return buffer.getvalue()


def tess_light_curve() -> bytes:
    """A light curve with a 1 % transit every 3 days."""
    time = np.linspace(1325.0, 1352.0, 2000)
    flux = np.ones_like(time)
    flux[(time % 3.0) < 0.1] = 0.99
    table = Table({"TIME": time, "PDCSAP_FLUX": flux, "QUALITY": np.zeros(time.size, dtype="int32")})
    primary = fits.PrimaryHDU()
    primary.header["TELESCOP"] = "TESS"
    primary.header["OBJECT"] = "TIC 25155310"
    buffer = io.BytesIO()
    fits.HDUList([primary, fits.BinTableHDU(table, name="LIGHTCURVE")]).writeto(buffer)
    return buffer.getvalue()


def main() -> int:
    bucket = sys.argv[1]
    s3 = boto3.client("s3")
    existing = [b["Name"] for b in s3.list_buckets().get("Buckets", [])]
    if bucket not in existing:
        s3.create_bucket(Bucket=bucket)
    for key, body in ((HST_KEY, hst_image()), (TESS_KEY, tess_light_curve())):
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        print(key)
    return 0


if __name__ == "__main__":
    sys.exit(main())

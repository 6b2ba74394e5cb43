"""The q2_sdk.hq import paths of the models Q2's docs show (SSO responses, audit details)."""
